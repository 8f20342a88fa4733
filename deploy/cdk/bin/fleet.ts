/**
 * The CDK app: `npm run synth` (offline, no AWS account) or `npx cdk deploy` from deploy/cdk.
 * Context (`-c key=value`, paths relative to the repository root):
 *   settings      fleet settings JSON (default deploy/cdk/fleet.example.json)
 *   pcrs          the image to run, as `make eif` writes it (default build/pcrs.json when present)
 *   previousPcrs  during a rolling update: the image still running, admitted until the follow-up deploy
 *   outdir        where the templates go (default build/cdk)
 * Without PCRs only the keys stack is synthesized (the image is built after the keys exist).
 * Bad settings, PCR files or arguments end the run with one line naming the field and rule (exit 1).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { EnclaveKitError, ServiceError } from '../../../shared/errors.js';
import { FleetStack } from '../src/fleet-stack.js';
import { KeysStack } from '../src/keys-stack.js';
import { parseFleetPcrs, parseFleetSettings } from '../src/settings.js';

const REPO = path.resolve(import.meta.dirname, '../../..');

/** `-c key=value` as the cdk CLI takes it, for runs without the CLI (`npm run synth`). */
function argvContext(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg !== '-c' && arg !== '--context') throw new ServiceError('ERR_CONFIG', 'fleet: arguments are -c key=value (or --context key=value)');
    const [key, ...value] = (argv[++i] ?? '').split('=');
    if (!key || value.length === 0) throw new ServiceError('ERR_CONFIG', `fleet: ${arg} needs key=value`);
    out[key] = value.join('=');
  }
  return out;
}

/** The settings file as JSON; an unreadable file or one that is not JSON is ERR_CONFIG, in one line. */
function settingsJson(text: () => string): unknown {
  try {
    return JSON.parse(text()) as unknown;
  } catch (cause) {
    throw new ServiceError('ERR_CONFIG', 'fleet settings: the settings file is unreadable or not JSON', { cause });
  }
}

function main(): void {
  const direct = argvContext(process.argv.slice(2));
  const app = new App({ context: direct, ...(process.env.CDK_OUTDIR ? {} : { outdir: path.resolve(REPO, direct.outdir ?? 'build/cdk') }) });
  const context = (key: string): string | undefined => {
    const v: unknown = app.node.tryGetContext(key);
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const repoFile = (p: string): string => readFileSync(path.resolve(REPO, p), 'utf8');

  const settings = parseFleetSettings(settingsJson(() => repoFile(context('settings') ?? 'deploy/cdk/fleet.example.json')));
  const pcrsFile = context('pcrs') ?? (existsSync(path.join(REPO, 'build/pcrs.json')) ? 'build/pcrs.json' : undefined);
  const pcrs = pcrsFile === undefined ? undefined : parseFleetPcrs(repoFile(pcrsFile), 'pcrs');
  const previousFile = context('previousPcrs');
  const previousPcrs = previousFile === undefined ? undefined : parseFleetPcrs(repoFile(previousFile), 'previousPcrs');

  const keys = new KeysStack(app, 'EnclaveKitKeys', {
    settings,
    pcrs,
    previousPcrs,
    instanceRoleGuardPolicy: JSON.parse(repoFile('deploy/iam/parent-instance-role-policy.json')) as object,
  });
  if (pcrs !== undefined) new FleetStack(app, 'EnclaveKitFleet', { settings, pcrs }).addStackDependency(keys);
  app.synth();
}

try {
  main();
} catch (error) {
  if (!(error instanceof EnclaveKitError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
