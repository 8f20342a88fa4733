/**
 * `enclavekit dev` (what `npm start` runs): the whole stack on the simulator, on loopback, wired by
 * the local stack module (cli/dev/stack.ts): the KMS simulator (its own process), the demo keys
 * bound to the measurement of the enclave bundle about to run, N enclaves (in an empty network
 * namespace when possible) and the parent. Every documented feature is on: an allowlisted HPKE
 * sender and a detokenize-to recipient whose demo keys are in the state directory, an API token
 * scoped for that recipient; anonymous submission is off unless --public-submission or the config
 * file turns it on. Then prints the API URL, token and a curl example, and writes dev.json.
 * Ctrl-C stops everything; the children also stop when this process dies any other way.
 * Logs: one line per event, human on a terminal, JSON lines with --json-logs or when stdout is not
 * a terminal. Enclave events are shown once, as the enclave printed them (the parent's relayed
 * copy stays in parent.log).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { credentialsPath, simRootPemPath } from '../../sim/state.js';
import { DEFAULT_SCOPES } from '../../parent/http/auth.js';
import { devLayout } from '../dev/layout.js';
import { canIsolate } from '../dev/isolation.js';
import { ensureDemoHpkeKeys } from '../dev/demo-hpke.js';
import { DEMO_SECRET, putDemoSecret } from '../dev/demo-secret.js';
import { loadDevConfig, withPublicSubmission, type DevConfig } from '../dev/dev-config.js';
import { DEFAULT_ENCLAVE_BUNDLE, MAX_ENCLAVES, startLocalStack, type LocalStack } from '../dev/stack.js';
import { parseOptions } from '../args.js';
import { exitReport, stopChild, type Child } from '../dev/processes.js';
import { formatHuman, formatJson, type Level, type LogRecord } from '../../shared/log/format.js';

const USAGE = `usage: enclavekit dev [--dir .enclavekit] [--port 8080] [--enclaves N] [--config FILE] [--public-submission]
                     [--no-isolation] [--quiet] [--json-logs]

Starts the KMS simulator, a simulated NSM, the enclaves and the parent on loopback.
  --dir DIR             state and runtime files (default .enclavekit)
  --port P              parent HTTP port (default 8080; 0 = any free port, see dir/dev.json)
  --enclaves N          enclaves behind the parent, 1..${MAX_ENCLAVES} (default 1)
  --config FILE         JSON: {"enclaves", "port", "enclave": {...}, "parent": {...}}; the two objects
                        are merged into the generated configs and checked with their schemas
  --public-submission   accept anonymous (HPKE Base mode) submissions, rate limited in the enclave
  --no-isolation        do not run the enclaves in an empty network namespace
  --quiet               do not echo the children's output
  --json-logs           JSON lines (the default when stdout is not a terminal)
`;

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseOptions(args, {
      dir: { type: 'string', default: '.enclavekit' },
      port: { type: 'string' },
      enclaves: { type: 'string' },
      config: { type: 'string' },
      'public-submission': { type: 'boolean', default: false },
      'no-isolation': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      'json-logs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    }));
  } catch (error) {
    process.stderr.write(`enclavekit dev: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let fileConfig: Readonly<DevConfig> = { enclave: {}, parent: {} };
  if (values.config !== undefined) {
    try {
      fileConfig = loadDevConfig(values.config);
    } catch (error) {
      process.stderr.write(`enclavekit dev: ${(error as Error).message}\n`);
      return 2;
    }
  }
  const port = values.port === undefined ? (fileConfig.port ?? 8080) : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`enclavekit dev: --port must be 0..65535\n${USAGE}`);
    return 2;
  }
  const enclaveCount = values.enclaves === undefined ? (fileConfig.enclaves ?? 1) : Number(values.enclaves);
  if (!Number.isInteger(enclaveCount) || enclaveCount < 1 || enclaveCount > MAX_ENCLAVES) {
    process.stderr.write(`enclavekit dev: --enclaves must be 1..${MAX_ENCLAVES}\n${USAGE}`);
    return 2;
  }
  if (!existsSync(DEFAULT_ENCLAVE_BUNDLE)) {
    process.stderr.write('enclavekit dev: dist/enclave.js is missing; run `npm run build`\n');
    return 1;
  }

  const layout = devLayout(values.dir);
  const quiet = values.quiet;
  const json = values['json-logs'] || process.stdout.isTTY !== true;
  const print = (record: LogRecord): void => void process.stdout.write(`${json ? formatJson(record) : formatHuman(record)}\n`);
  const say = (level: Level, msg: string, fields: Record<string, unknown> = {}): void =>
    print({ ts: new Date().toISOString(), level, component: 'dev', msg, fields });
  const onRecord = (record: LogRecord): void => {
    if (quiet) return;
    // The enclave prints each event itself; the parent's relayed copy would be a second line.
    if (record.component === 'parent' && record.msg === 'enclave-event') return;
    print(record);
  };
  const children: Child[] = [];
  let stack: LocalStack | undefined;
  const shutdown = async (): Promise<void> => {
    for (const child of [...children].reverse()) await stopChild(child);
    await stack?.close();
  };
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    say('info', 'stopping the dev stack');
    void shutdown().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await mkdir(layout.root, { recursive: true, mode: 0o700 });
    await rm(layout.devJson, { force: true });
    const demo = await ensureDemoHpkeKeys(layout.root);
    let apiToken: string;
    try {
      apiToken = (await readFile(layout.apiToken, 'utf8')).trim();
    } catch {
      apiToken = randomBytes(24).toString('base64url');
      await writeFile(layout.apiToken, `${apiToken}\n`, { mode: 0o600 });
    }
    const apiTokenScopes = [...DEFAULT_SCOPES, `cards:detokenize:${demo.recipient.name}`];
    const enclaveOverrides = mergeCards(values['public-submission'] ? withPublicSubmission(fileConfig.enclave) : fileConfig.enclave, demo);

    const isolate = !values['no-isolation'] && canIsolate();
    if (!isolate && !values['no-isolation']) say('warn', 'enclave network isolation is OFF (needs root and unshare on Linux; --no-isolation silences this)');
    // The simulator's banner is part of the log stream: one record per line in JSON mode.
    const announceTo = json
      ? { write: (text: string) => text.split('\n').filter((l) => l !== '').forEach((l) => say('warn', l)) }
      : process.stderr;
    stack = await startLocalStack({
      dir: layout.root,
      enclaves: enclaveCount,
      isolate,
      kmsAsChild: true,
      persistentKeysFile: layout.wrappedKeys,
      port,
      announceTo,
      onRecord,
      onChild: (child) => void children.push(child),
      enclaveConfig: enclaveOverrides,
      // The demo sealed secret (docs/secrets.md): put before the enclaves boot, loaded by them.
      beforeEnclaves: (setup) => putDemoSecret(setup),
      parentConfig: { apiTokens: [{ token: apiToken, scopes: apiTokenScopes }], ...fileConfig.parent },
      // Each poll is a `request` line in the parent's log: poll a few times, not dozens.
      waitReady: false,
    });
    await stack.waitReady(120_000, 250);

    const parentUrl = stack.parentUrl;
    const client = stack.principal('client');
    const cards = stack.enclaves[0]!.config.cards;
    const enclavePids = stack.enclaves.map((e) => e.child()!.process.pid);
    const kmsPid = children.find((c) => c.name === 'kms')?.process.pid;
    const dev = {
      parentUrl,
      apiToken,
      apiTokenScopes,
      simRootFile: simRootPemPath(stack.simDir),
      logFile: stack.parentLogFile,
      pcrs: stack.pcrs,
      enclavePid: enclavePids[0],
      enclavePids,
      pids: { kms: kmsPid, enclave: enclavePids[0], parent: stack.parent().process.pid },
      isolated: stack.isolated,
      hpkeSender: demo.sender,
      detokenizeRecipient: demo.recipient,
      publicSubmission: cards?.publicSubmission?.enabled === true,
      kms: {
        endpoint: stack.kms.endpoint,
        region: stack.kms.region,
        caFile: stack.kms.caFile,
        keyArn: stack.keyArn,
        internalKeyArn: stack.internalKeyArn,
        rsaKeyArn: stack.rsaKeyArn,
        clientCredentials: { accessKeyId: client.accessKeyId, secretAccessKey: client.secretAccessKey },
      },
      // Same region, CA file and credentials as kms; the enclave reads DEMO_SECRET from Parameter Store.
      ssm: { endpoint: stack.ssm.endpoint },
      secretsManager: { endpoint: stack.secretsManager.endpoint },
      demoSecret: { ...DEMO_SECRET },
      credentialsFile: credentialsPath(stack.simDir),
    };
    await writeFile(layout.devJson, `${JSON.stringify(dev, null, 2)}\n`, { mode: 0o600 });
    if (json) say('info', 'dev-ready', { parentUrl, pcr0: stack.pcrs[0], devJson: layout.devJson, attestation: 'SIMULATED', try: `curl -s ${parentUrl}/readyz` });
    else process.stdout.write(
      `\nenclavekit dev stack is ready (SIMULATED attestation)\n` +
        `  API:    ${parentUrl}\n  token:  ${apiToken}\n  PCR0:   ${stack.pcrs[0]}\n  files:  ${layout.devJson}\n\n` +
        `  curl -s ${parentUrl}/readyz\n` +
        `  curl -s -H "Authorization: Bearer ${apiToken}" "${parentUrl}/v1/attestation?nonce=00112233"\n\n` +
        `Ctrl-C stops everything.\n`,
    );
    const firstExit = await Promise.race(stack.children().map((c) => c.exited.then((code) => ({ c, code }))));
    if (!stopping) {
      process.stderr.write(`enclavekit dev: ${exitReport(firstExit.c)}; stopping\n`);
      stopping = true;
      await shutdown();
      return 1;
    }
    return 0;
  } catch (error) {
    process.stderr.write(`enclavekit dev: ${(error as Error).message}\n`);
    stopping = true;
    await shutdown();
    return 1;
  }
}

/** The demo sender and recipient, added to whatever `cards` the config file sets. */
function mergeCards(overrides: DevConfig['enclave'], demo: Awaited<ReturnType<typeof ensureDemoHpkeKeys>>): DevConfig['enclave'] {
  const cards = (overrides.cards ?? {}) as { hpkeSenders?: string[]; detokenizeRecipients?: Record<string, string> };
  return {
    ...overrides,
    cards: {
      ...cards,
      hpkeSenders: [demo.sender.publicKey, ...(cards.hpkeSenders ?? [])],
      detokenizeRecipients: { [demo.recipient.name]: demo.recipient.publicKey, ...(cards.detokenizeRecipients ?? {}) },
    },
  };
}
