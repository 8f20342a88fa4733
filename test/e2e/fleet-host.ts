/**
 * A second complete host (simulated NSM, enclave process, parent process) beside a stack from
 * stack.ts, against the same KMS simulator, the same card key and the same wrapped keys: built from
 * the configs that stack wrote, with only its own sockets, log file and enclave bundle. This is what
 * a fleet is: every host gets identical configuration and the same wrapped keys.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { measureEnclave } from '../../sim/nsm/measure.js';
import { enclaveProcess } from '../../cli/dev/stack-enclave.js';
import { SimulatedNsm, newModuleId, randomInstanceId } from '../../sim/nsm/simulated-nsm.js';
import { loadSimPki } from '../../sim/state.js';
import { REPO, canIsolate, type Stack } from './stack.js';

const CLI = path.join(REPO, 'bin/enclavekit.js');

export interface Host {
  pcrs: Record<number, string>;
  api(pathname: string, init?: RequestInit): Promise<{ status: number; json: any }>;
  startEnclave(): Promise<void>;
  stopEnclave(): Promise<void>;
  output(): string;
  close(): Promise<void>;
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** Another host like `peer`, running `bundle`. */
export async function startPeerHost(peer: Stack, bundle: string): Promise<Host> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ek-fleet-host-'));
  const run = path.join(dir, 'run');
  await mkdir(run, { recursive: true });
  const peerRun = path.join(peer.dir, 'run');
  const enclaveSocket = path.join(run, 'enclave.sock');
  const proxySocket = path.join(run, 'proxy.sock');
  const nsmSocket = path.join(run, 'nsm.sock');
  const urlFile = path.join(run, 'parent.url');

  const enclaveConfigFile = path.join(run, 'enclave.json');
  const enclaveConfig = JSON.parse(await readFile(path.join(peerRun, 'enclave.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(enclaveConfigFile, JSON.stringify({ ...enclaveConfig, listen: `unix://${enclaveSocket}`, proxy: `unix://${proxySocket}`, nsm: `sim+unix://${nsmSocket}` }));
  const parentConfigFile = path.join(run, 'parent.json');
  const parentConfig = JSON.parse(await readFile(path.join(peerRun, 'parent.json'), 'utf8')) as { proxy: Record<string, unknown> } & Record<string, unknown>;
  await writeFile(
    parentConfigFile,
    JSON.stringify({ ...parentConfig, enclaves: [`unix://${enclaveSocket}`], proxy: { ...parentConfig.proxy, listen: `unix://${proxySocket}` }, logFile: path.join(dir, 'parent.log') }),
  );

  // Its own instance: own NSM module id and PCR4; PCR0-2 come from the bundle it runs.
  const instanceId = randomInstanceId();
  const pcrs = measureEnclave({ appBundle: readFileSync(bundle), roleArn: peer.principal('enclave').arn, instanceId });
  const pki = await loadSimPki(path.join(peer.dir, 'sim'), Date.now());
  let output = '';
  const enclave = enclaveProcess({
    name: 'enclave',
    bundle,
    configFile: enclaveConfigFile,
    socket: enclaveSocket,
    nsmSocket,
    nsm: () => new SimulatedNsm({ pki, pcrs, moduleId: newModuleId(Date.now(), instanceId), silent: true }),
    isolate: canIsolate(),
    nodeFlags: [],
    env: process.env,
    onChild: () => undefined,
  });
  const startEnclave = async (): Promise<void> => void (await enclave.start());
  const stopEnclave = (): Promise<void> => enclave.stop('SIGTERM');

  await startEnclave();
  const parent = spawn(process.execPath, [CLI, 'parent', '--config', parentConfigFile, '--url-file', urlFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  parent.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  parent.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = await until('the parent URL', async () => {
    if (parent.exitCode !== null) throw new Error(`parent exited: ${output}`);
    return existsSync(urlFile) ? (await readFile(urlFile, 'utf8')).trim() || undefined : undefined;
  }, 30_000);

  return {
    pcrs,
    api: async (pathname, init = {}) => {
      const res = await fetch(url + pathname, { ...init, headers: { authorization: `Bearer ${peer.apiToken}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
      const text = await res.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, json: json as any };
    },
    startEnclave,
    stopEnclave,
    output: () => enclave.output() + output,
    close: async () => {
      parent.kill('SIGKILL');
      await Promise.all([enclave.close(), exited(parent)]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
