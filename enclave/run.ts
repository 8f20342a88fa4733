/**
 * `enclave --config FILE`: starts the enclave process and runs until SIGTERM/SIGINT. The
 * production image runs dist/enclave.js, which is this plus nothing else (no simulator code).
 * Every fatal failure ends with exit code 1 and one `fatal` line; a failed boot is first reported
 * to the parent over the link (enclave/boot-report.ts).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EnclaveKitError } from '../shared/errors.js';
import { exitWithSupervisor } from '../shared/lifecycle/supervised.js';
import { listenChannels, openStream } from '../shared/transport/index.js';
import type { EventFields, EventLevel } from './boot-report.js';
import { parseEnclaveConfig } from './config.js';
import { openNsm } from './nsm/open.js';
import { registerBuiltinHandlers } from './app/handlers.js';
import { startEnclave } from './runtime.js';

/** One JSON line per event on the console; `event` right after `level` and `component`. */
function log(event: string, fields: EventFields = {}, level: EventLevel = 'info'): void {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), level, component: 'enclave', event, ...fields })}\n`);
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
  const stop = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    exitWithSupervisor(resolve);
  });
  try {
    const configBytes = readFileSync(configFile);
    const config = parseEnclaveConfig(JSON.parse(configBytes.toString('utf8')) as unknown);
    const enclave = await startEnclave({
      config,
      configBytes,
      openNsm: () => openNsm(config.nsm, (line) => log('nsm-warning', { message: line }, 'warn')),
      listenChannels: (url, onChannel) => listenChannels(url, onChannel),
      openStream: (url) => openStream(url),
      registerHandlers: (registry, services) => registerBuiltinHandlers(registry, services, config),
      log,
    });
    await stop;
    await enclave.close();
    return 0;
  } catch (error) {
    log('fatal', { code: error instanceof EnclaveKitError ? error.code : 'ERR_INTERNAL', message: error instanceof EnclaveKitError ? error.message : 'unexpected error' }, 'error');
    return 1;
  }
}
