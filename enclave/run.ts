/**
 * `enclave --config FILE`: starts the enclave process and runs until SIGTERM/SIGINT. The
 * production image runs dist/enclave.js, which is this plus nothing else (no simulator code).
 * Every fatal failure ends with exit code 1 and one `fatal` line; a failed boot, an unusable
 * configuration included, is first reported to the parent over the link (enclave/boot-link.ts).
 *
 * The worker pool starts the running bundle's own file on each worker thread (enclave/workers/
 * pool.ts), whichever entry built it: dist/enclave.js (enclave/main.ts) or an app's own entry that
 * calls runEnclave with its handlers. So on a worker thread runEnclave is that pool worker and
 * returns when the pool closes it.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { EnclaveKitError } from '../shared/errors.js';
import { exitWithSupervisor } from '../shared/lifecycle/supervised.js';
import { loadConfigFile } from '../shared/config/parse.js';
import { listenChannels, openStream } from '../shared/transport/index.js';
import type { EventFields, EventLevel } from './boot-report.js';
import { enclaveConfigSchema, parseEnclaveConfig } from './config.js';
import { openBootLink } from './boot-link.js';
import { openNsm } from './nsm/open.js';
import { registerBuiltinHandlers } from './app/handlers.js';
import type { HandlerRegistry } from './app/registry.js';
import { startEnclave, type EnclaveServices } from './runtime.js';
import { isWorkerInit } from './workers/protocol.js';
import { runPoolWorker } from './workers/worker.js';

/** Your own operations, registered after the built-ins (docs/api.md "Custom handlers"). */
export type RegisterExtraHandlers = (registry: HandlerRegistry, services: EnclaveServices, config: ReturnType<typeof parseEnclaveConfig>) => void;

/** One JSON line per event on the console; `event` right after `level` and `component`. */
function log(event: string, fields: EventFields = {}, level: EventLevel = 'info'): void {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), level, component: 'enclave', event, ...fields })}\n`);
}

export async function runEnclave(argv: string[], registerExtra?: RegisterExtraHandlers): Promise<number> {
  if (!isMainThread) return runAsPoolWorker();
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
  // A failure after boot that leaves the enclave unable to work (its worker threads cannot start):
  // stop as on a signal, but exit 1 with the fatal line. Marked handled now; awaited below.
  let failed: (error: unknown) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  failure.catch(() => undefined);
  let config: ReturnType<typeof parseEnclaveConfig>;
  let configBytes: Buffer;
  try {
    ({ config, bytes: configBytes } = loadConfigFile(configFile, 'enclave config', parseEnclaveConfig));
  } catch (error) {
    await reportConfigFailure(configFile, error);
    return fatal(error);
  }
  try {
    const enclave = await startEnclave({
      config,
      configBytes,
      openNsm: () => openNsm(config.nsm, (line) => log('nsm-warning', { message: line }, 'warn')),
      listenChannels: (url, onChannel) => listenChannels(url, onChannel),
      openStream: (url) => openStream(url),
      registerHandlers: (registry, services) => {
        registerBuiltinHandlers(registry, services, config);
        registerExtra?.(registry, services, config);
      },
      log,
      onFatal: (error) => failed(error),
    });
    try {
      await Promise.race([stop, failure]);
    } finally {
      await enclave.close();
    }
    return 0;
  } catch (error) {
    return fatal(error);
  }
}

/** This thread as a pool worker until the pool closes it; anything else that starts the file on a thread gets nothing (2). */
async function runAsPoolWorker(): Promise<number> {
  const port = parentPort;
  if (port === null || !isWorkerInit(workerData)) return 2;
  const closed = new Promise<void>((resolve) => port.once('close', () => resolve()));
  await runPoolWorker(port, workerData);
  await closed;
  return 0;
}

function fatal(error: unknown): number {
  const known = error instanceof EnclaveKitError;
  log('fatal', { code: known ? error.code : 'ERR_INTERNAL', message: known ? error.message : 'unexpected error' }, 'error');
  return 1;
}

/**
 * A configuration the enclave cannot use still has to be reported to the parent: the link opens
 * where the file says to listen if it says so, else at the production default, reports the
 * failure and closes (enclave/boot-link.ts). If even that fails, the console line is all there is.
 */
async function reportConfigFailure(configFile: string, error: unknown): Promise<void> {
  let listen: unknown;
  try {
    listen = (JSON.parse(readFileSync(configFile, 'utf8')) as { listen?: unknown }).listen;
  } catch {
    listen = undefined;
  }
  const url = typeof listen === 'string' ? listen : enclaveConfigSchema.shape.listen.parse(undefined);
  try {
    const link = await openBootLink({ listen: url, listenChannels: (u, onChannel) => listenChannels(u, onChannel), log });
    await link.fail(error);
  } catch {
    // No listener either (bad URL, no vsock): the fatal line on the console remains.
  }
}
