/**
 * `enclave --config FILE`: starts the enclave process and runs until SIGTERM/SIGINT. The
 * production image runs dist/enclave.js, which is this plus nothing else (no simulator code).
 */
import { parseArgs } from 'node:util';
import { EnclaveKitError } from '../shared/errors.js';
import { loadConfigFile } from '../shared/config/parse.js';
import { listenChannels, openStream } from '../shared/transport/index.js';
import { parseEnclaveConfig } from './config.js';
import { openNsm } from './nsm/open.js';
import { registerBuiltinHandlers } from './app/handlers.js';
import { startEnclave } from './runtime.js';

function log(event: string, fields: Record<string, string | number | boolean | undefined> = {}): void {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), component: 'enclave', event, ...fields })}\n`);
}

export async function runEnclave(argv: string[]): Promise<number> {
  let configFile: string | undefined;
  try {
    ({ values: { config: configFile } } = parseArgs({ args: argv, options: { config: { type: 'string' } }, strict: true }));
  } catch {
    configFile = undefined;
  }
  if (configFile === undefined) {
    process.stderr.write('usage: enclave --config FILE\n');
    return 2;
  }
  try {
    const { config, bytes: configBytes } = loadConfigFile(configFile, 'enclave config', parseEnclaveConfig);
    const nsm = await openNsm(config.nsm, (line) => process.stderr.write(`${line}\n`));
    const enclave = await startEnclave({
      config,
      configBytes,
      nsm,
      listenChannels: (url, onChannel) => listenChannels(url, onChannel),
      openStream: (url) => openStream(url),
      registerHandlers: (registry, services) => registerBuiltinHandlers(registry, services, config),
      log,
    });
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await enclave.close();
    await nsm.close?.();
    return 0;
  } catch (error) {
    log('fatal', { code: error instanceof EnclaveKitError ? error.code : 'ERR_INTERNAL', message: error instanceof EnclaveKitError ? error.message : 'unexpected error' });
    return 1;
  }
}
