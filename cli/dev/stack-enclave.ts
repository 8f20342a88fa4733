/**
 * One enclave process of the local stack: each boot gets a fresh simulated NSM on its own socket,
 * as on hardware (PCR16-31 start unlocked and zero), then the enclave program, in an empty network
 * namespace when asked (its only ways out are then its Unix sockets: the parent and the NSM).
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { serveNsm } from '../../sim/nsm/server.js';
import type { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import type { LogRecord } from '../../shared/log/format.js';
import { fileExists, startChild, stopWith, waitFor, type Child } from './processes.js';

export interface EnclaveProcessOptions {
  name: string;
  bundle: string;
  configFile: string;
  /** Where the enclave listens (appears once it is up). */
  socket: string;
  nsmSocket: string;
  /** A new NSM for each boot. */
  nsm: () => SimulatedNsm;
  isolate: boolean;
  nodeFlags: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Output to this file instead of a pipe (then `output()` stays empty). */
  logFile?: string | undefined;
  onRecord?: ((record: LogRecord) => void) | undefined;
  onChild: (child: Child) => void;
}

export interface EnclaveProcess {
  child(): Child | undefined;
  output(): string;
  /** Boots it; resolves once it listens. `spawnedAt` is performance.now() at spawn. */
  start(): Promise<{ spawnedAt: number }>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Kills it and closes its NSM. */
  close(): Promise<void>;
}

export function enclaveProcess(o: EnclaveProcessOptions): EnclaveProcess {
  let child: Child | undefined;
  let output = '';
  let nsmServer: { close(): Promise<void> } | undefined;
  const start = async (): Promise<{ spawnedAt: number }> => {
    await rm(o.socket, { force: true });
    await nsmServer?.close();
    nsmServer = await serveNsm(o.nsm(), o.nsmSocket);
    const argv = [process.execPath, ...o.nodeFlags, o.bundle, '--config', o.configFile];
    const spawnedAt = performance.now();
    const childOptions = {
      env: o.env,
      ...(o.logFile === undefined ? { onOutput: (text: string) => void (output += text) } : { logFile: o.logFile }),
      ...(o.onRecord ? { onRecord: o.onRecord } : {}),
    };
    const started = o.isolate ? startChild(o.name, 'unshare', ['--net', '--', ...argv], childOptions) : startChild(o.name, argv[0]!, argv.slice(1), childOptions);
    child = started;
    o.onChild(started);
    await waitFor(`${o.name} socket`, () => fileExists(o.socket), 30_000, started, 5).catch((error: Error) => {
      const tail = o.logFile !== undefined && existsSync(o.logFile) ? readFileSync(o.logFile, 'utf8') : output;
      throw new Error(`${error.message}\n${tail.slice(-2000)}`);
    });
    return { spawnedAt };
  };
  return {
    child: () => child,
    output: () => output,
    start,
    stop: (signal = 'SIGTERM') => stopWith(child, signal),
    close: async () => {
      await stopWith(child, 'SIGKILL');
      await nsmServer?.close();
    },
  };
}
