/**
 * `enclavekit dev` (what `npm start` runs): the whole stack on the simulator, on loopback.
 *   1. simulator state (first run), the KMS simulator (its own process);
 *   2. the simulated NSM, measuring the enclave bundle that is about to run (PCR0/PCR2);
 *   3. a demo KMS key whose policy admits only that measurement, and wrapped keys under it;
 *   4. the enclave (dist/enclave.js), in an empty network namespace when possible;
 *   5. the parent; then prints the API URL, token and a curl example, and writes dev.json.
 * Ctrl-C stops everything; the children also stop when this process dies any other way.
 * Logs: one line per event, human on a terminal, JSON lines with --json-logs or when stdout is not
 * a terminal. Enclave events are shown once, as the enclave printed them (the parent's relayed
 * copy stays in parent.log).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { serveNsm } from '../../sim/nsm/server.js';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { SimulatedNsm, newModuleId, randomInstanceId } from '../../sim/nsm/simulated-nsm.js';
import { initSimState, loadCredentials, loadSimConfig, loadSimPki, simRoleArn, simRootPemPath, credentialsPath } from '../../sim/state.js';
import { ensureDemoKey, pinnedKeys, type KmsEndpoint } from '../dev/demo-key.js';
import { devLayout } from '../dev/layout.js';
import { canIsolate } from '../dev/isolation.js';
import { packageRoot } from '../package-root.js';
import { parseOptions } from '../args.js';
import { exitReport, fileExists, startChild, stopChild, waitFor, type Child } from '../dev/processes.js';
import { formatHuman, formatJson, type Level, type LogRecord } from '../../shared/log/format.js';

const USAGE = `usage: enclavekit dev [--dir .enclavekit] [--port 8080] [--no-isolation] [--quiet] [--json-logs]

Starts the KMS simulator, a simulated NSM, the enclave and the parent on loopback.
  --dir DIR        state and runtime files (default .enclavekit)
  --port P         parent HTTP port (default 8080; 0 = any free port, see dir/dev.json)
  --no-isolation   do not run the enclave in an empty network namespace
  --quiet          do not echo the children's output
  --json-logs      JSON lines (the default when stdout is not a terminal)
`;

const repoRoot = packageRoot();
const cliBin = path.join(repoRoot, 'bin', 'enclavekit.js');
const enclaveBundle = path.join(repoRoot, 'dist', 'enclave.js');

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseOptions(args, {
      dir: { type: 'string', default: '.enclavekit' },
      port: { type: 'string', default: '8080' },
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
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`enclavekit dev: --port must be 0..65535\n${USAGE}`);
    return 2;
  }
  if (!existsSync(enclaveBundle)) {
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
  let nsmServer: { close(): Promise<void> } | undefined;
  const shutdown = async (): Promise<void> => {
    for (const child of [...children].reverse()) await stopChild(child);
    await nsmServer?.close();
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
    // Nothing of an earlier run may be taken for this one's (its parent.url named a dead port).
    await rm(layout.run, { recursive: true, force: true });
    await mkdir(layout.run, { recursive: true, mode: 0o700 });
    await rm(layout.devJson, { force: true });
    await initSimState(layout.simState);
    const simConfig = await loadSimConfig(layout.simState);
    const principals = await loadCredentials(layout.simState);
    const principal = (role: string) => {
      const arn = simRoleArn(simConfig.account, role);
      const found = principals.find((p) => p.arn === arn);
      if (found === undefined) throw new Error(`no ${role} principal in ${credentialsPath(layout.simState)}`);
      return found;
    };

    // 1. KMS simulator.
    const kmsJson = `${layout.simState}/kms.json`;
    await rm(kmsJson, { force: true });
    const kmsChild = startChild('kms', process.execPath, [cliBin, 'sim', 'kms', '--state', layout.simState, '--port', '0'], { onRecord });
    children.push(kmsChild);
    await waitFor('the KMS simulator', () => fileExists(kmsJson), 30_000, children);
    const kms = JSON.parse(await readFile(kmsJson, 'utf8')) as KmsEndpoint;
    const kmsUrl = new URL(kms.endpoint);

    // 2. Simulated NSM measuring the bundle that will run.
    const bundle = await readFile(enclaveBundle);
    const enclaveRoleArn = simRoleArn(simConfig.account, 'enclave');
    const instanceId = randomInstanceId();
    const pcrs = measureEnclave({ appBundle: bundle, roleArn: enclaveRoleArn, instanceId });
    // The simulator's banner is part of the log stream: one record per line in JSON mode.
    const announceTo = json
      ? { write: (text: string) => text.split('\n').filter((l) => l !== '').forEach((l) => say('warn', l)) }
      : process.stderr;
    const nsm = new SimulatedNsm({ pki: await loadSimPki(layout.simState, Date.now()), pcrs, moduleId: newModuleId(Date.now(), instanceId), announceTo });
    nsmServer = await serveNsm(nsm, layout.nsmSocket);

    // 3. Demo key bound to PCR0 of this bundle, and the wrapped keys.
    const { keyArn, internalKeyArn, wrappedKeys } = await ensureDemoKey({
      kms,
      account: simConfig.account,
      admin: principal('admin'),
      enclaveRoleArn,
      producerArn: simRoleArn(simConfig.account, 'client'),
      pcr0: pcrs[0]!,
      wrappedKeysFile: layout.wrappedKeys,
    });

    // 4. The enclave.
    const enclaveConfig = {
      listen: `unix://${layout.enclaveSocket}`,
      proxy: `unix://${layout.proxySocket}`,
      nsm: `sim+unix://${layout.nsmSocket}`,
      kms: { region: kms.region, endpoint: kms.endpoint, ...(kms.caFile === null ? {} : { caFile: kms.caFile }) },
      cards: { cardKeyArn: keyArn },
      keys: pinnedKeys(wrappedKeys),
    };
    await writeFile(layout.enclaveConfig, `${JSON.stringify(enclaveConfig, null, 2)}\n`, { mode: 0o600 });
    const isolate = !values['no-isolation'] && canIsolate();
    if (!isolate && !values['no-isolation']) say('warn', 'enclave network isolation is OFF (needs root and unshare on Linux; --no-isolation silences this)');
    const enclaveArgv = [process.execPath, enclaveBundle, '--config', layout.enclaveConfig];
    const enclaveChild = isolate
      ? startChild('enclave', 'unshare', ['--net', '--', ...enclaveArgv], { onRecord })
      : startChild('enclave', enclaveArgv[0]!, enclaveArgv.slice(1), { onRecord });
    children.push(enclaveChild);
    await waitFor('the enclave socket', () => fileExists(layout.enclaveSocket), 30_000, children);

    // 5. The parent.
    let apiToken: string;
    try {
      apiToken = (await readFile(layout.apiToken, 'utf8')).trim();
    } catch {
      apiToken = randomBytes(24).toString('base64url');
      await writeFile(layout.apiToken, `${apiToken}\n`, { mode: 0o600 });
    }
    const parentConfig = {
      http: { host: '127.0.0.1', port },
      apiTokens: [apiToken],
      enclaves: [`unix://${layout.enclaveSocket}`],
      region: kms.region,
      proxy: { listen: `unix://${layout.proxySocket}`, allowlist: [`${kmsUrl.hostname}:${kmsUrl.port || '443'}`] },
      credentials: { source: 'file', file: credentialsPath(layout.simState), arn: enclaveRoleArn },
      wrappedKeys,
      logFile: layout.logFile,
    };
    await writeFile(layout.parentConfig, `${JSON.stringify(parentConfig, null, 2)}\n`, { mode: 0o600 });
    const parentChild = startChild('parent', process.execPath, [cliBin, 'parent', '--config', layout.parentConfig, '--url-file', `${layout.run}/parent.url`], { onRecord });
    children.push(parentChild);
    const parentUrl = await waitFor('the parent', async () => {
      try {
        return (await readFile(`${layout.run}/parent.url`, 'utf8')).trim() || undefined;
      } catch {
        return undefined;
      }
    }, 30_000, children);
    // Each poll is a `request` line in the parent's log: poll a few times, not dozens.
    await waitFor('the enclave to become ready', async () => {
      try {
        return (await fetch(`${parentUrl}/readyz`)).ok ? true : undefined;
      } catch {
        return undefined;
      }
    }, 120_000, children, 250);

    const client = principal('client');
    const dev = {
      parentUrl,
      apiToken,
      simRootFile: simRootPemPath(layout.simState),
      logFile: layout.logFile,
      pcrs,
      enclavePid: enclaveChild.process.pid,
      pids: { kms: kmsChild.process.pid, enclave: enclaveChild.process.pid, parent: parentChild.process.pid },
      isolated: isolate,
      kms: {
        endpoint: kms.endpoint,
        region: kms.region,
        caFile: kms.caFile,
        keyArn,
        internalKeyArn,
        clientCredentials: { accessKeyId: client.accessKeyId, secretAccessKey: client.secretAccessKey },
      },
    };
    await writeFile(layout.devJson, `${JSON.stringify(dev, null, 2)}\n`, { mode: 0o600 });
    if (json) say('info', 'dev-ready', { parentUrl, pcr0: pcrs[0], devJson: layout.devJson, attestation: 'SIMULATED', try: `curl -s ${parentUrl}/readyz` });
    else process.stdout.write(
      `\nenclavekit dev stack is ready (SIMULATED attestation)\n` +
        `  API:    ${parentUrl}\n  token:  ${apiToken}\n  PCR0:   ${pcrs[0]}\n  files:  ${layout.devJson}\n\n` +
        `  curl -s ${parentUrl}/readyz\n` +
        `  curl -s -H "Authorization: Bearer ${apiToken}" "${parentUrl}/v1/attestation?nonce=00112233"\n\n` +
        `Ctrl-C stops everything.\n`,
    );
    const firstExit = await Promise.race(children.map((c) => c.exited.then((code) => ({ c, code }))));
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
