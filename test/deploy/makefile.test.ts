/**
 * The Makefile's deployment targets: each one prints its commands under `make -n`;
 * those that need nitro-cli or Docker stop with a message naming what is missing; and, with
 * stand-ins for nitro-cli and docker (fake-tools.ts), `make eif` saves the measurements where
 * `make policy` reads them, `make run` passes CPU count, memory and CID, and `make policy` writes a
 * key policy with producers and a wrapped-key generator.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePcrsJson } from '../../shared/policy/pcrs.js';
import { FAKE_PCRS, installFakeTools } from './fake-tools.js';
import { repoRoot, run, tempDir } from './helpers.js';

const TARGETS = ['help', 'build', 'test', 'bundle', 'image', 'eif', 'run', 'console', 'describe', 'policy', 'dev', 'install'];
const make = execFileSync('sh', ['-c', 'command -v make'], { encoding: 'utf8' }).trim();

let dir: string;
/** A PATH with only what the recipes use, so a real nitro-cli or docker on this host is not found. */
let basePath: string;
let fakePath: string;

function makeEnv(pathValue: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: pathValue, HOME: dir, FAKE_TOOLS_DIR: dir, LANG: 'C', ...extra };
}

function calls(): string[][] {
  const file = path.join(dir, 'calls');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as string[]) : [];
}

beforeAll(() => {
  dir = tempDir('make');
  const tools = path.join(dir, 'tools');
  mkdirSync(tools);
  for (const tool of ['node', 'mkdir', 'mv', 'cat', 'wc', 'jq', 'test', 'rm', 'grep']) {
    const found = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    if (found.startsWith('/')) symlinkSync(found, path.join(tools, tool));
  }
  basePath = tools;
  fakePath = `${installFakeTools(dir, ['nitro-cli', 'docker'])}:${tools}`;
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('make -n', () => {
  it.each(TARGETS)('%s prints its commands without running them', async (target) => {
    // The stand-ins are on PATH: nothing may call them under -n.
    const result = await run(make, ['-n', target], { env: makeEnv(fakePath) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).not.toBe('');
    expect(calls()).toEqual([]);
  });
});

describe('targets that need nitro-cli or docker, on a host without them', () => {
  it.each(['eif', 'run', 'console', 'describe'])('make %s names nitro-cli and where it comes from', async (target) => {
    const result = await run(make, [target], { env: makeEnv(basePath) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`make ${target}: 'nitro-cli' not found`);
    expect(result.stderr).toContain('Nitro Enclaves-enabled EC2 instance');
  });

  it('make image names docker', async () => {
    const result = await run(make, ['image'], { env: makeEnv(basePath) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("make image: 'docker' not found");
  });

  it('make policy without measurements says to run make eif first', async () => {
    const result = await run(make, ['policy', `PCRS=${path.join(dir, 'none.json')}`], { env: makeEnv(basePath) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('run make eif first');
  });
});

describe('with stand-ins for nitro-cli and docker', () => {
  const eif = () => path.join(dir, 'out', 'enclave.eif');
  const pcrs = () => path.join(dir, 'out', 'pcrs.json');

  it('make image stops when the Docker daemon does not answer', async () => {
    const result = await run(make, ['image'], { env: makeEnv(fakePath) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('make image: the Docker daemon is not reachable');
    expect(calls().at(-1)).toEqual(['docker', 'info']);
  });

  it('make image refuses a base or BuildKit image that is not pinned by digest, before calling docker', async () => {
    const before = calls().length;
    for (const override of ['RUNTIME_IMAGE=node:24-bookworm-slim', 'BUILD_IMAGE=node:24.21.0-bookworm@sha256:abc', `BUILDKIT_IMAGE=moby/buildkit:latest`]) {
      const result = await run(make, ['image', override], { env: makeEnv(fakePath, { FAKE_DOCKER_DAEMON: '1', FAKE_BUILDX: '1' }) });
      expect(result.code, override).not.toBe(0);
      expect(result.stderr).toContain(`${override.split('=')[1]} is not pinned by digest`);
    }
    expect(calls().length).toBe(before);
  });

  it('make image refuses to build without buildx (no plain docker build fallback)', async () => {
    const result = await run(make, ['image'], { env: makeEnv(fakePath, { FAKE_DOCKER_DAEMON: '1' }) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('docker buildx not found');
    expect(calls().some((c) => c[0] === 'docker' && c[1] === 'build')).toBe(false);
  });

  it('make image creates the pinned docker-container builder and builds for one platform with clamped timestamps', async () => {
    const env = makeEnv(fakePath, { FAKE_DOCKER_DAEMON: '1', FAKE_BUILDX: '1' });
    const result = await run(make, ['image', 'SOURCE_DATE_EPOCH=0'], { env });
    expect(result.code, result.stderr).toBe(0);
    const create = calls().find((c) => c[1] === 'buildx' && c[2] === 'create');
    const buildkit = /^BUILDKIT_IMAGE \?= (\S+)$/m.exec(readFileSync(path.join(repoRoot, 'Makefile'), 'utf8'))![1]!;
    expect(buildkit).toMatch(/^moby\/buildkit:v[\d.]+@sha256:[0-9a-f]{64}$/);
    expect(create).toEqual(['docker', 'buildx', 'create', '--name', 'enclavekit-repro', '--driver', 'docker-container', '--driver-opt', `image=${buildkit}`]);
    const build = calls().at(-1)!;
    expect(build.slice(0, 3)).toEqual(['docker', 'buildx', 'build']);
    expect(build).toEqual(expect.arrayContaining(['--builder', 'enclavekit-repro', '--platform', 'linux/amd64', '-f', 'Dockerfile.enclave', '--build-arg', 'SOURCE_DATE_EPOCH=0']));
    expect(build).toContain('type=docker,name=enclavekit-enclave:latest,rewrite-timestamp=true');
    // A second run reuses the builder.
    const again = await run(make, ['image', 'PLATFORM=linux/arm64'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(calls().filter((c) => c[1] === 'buildx' && c[2] === 'create')).toHaveLength(1);
    expect(calls().at(-1)).toEqual(expect.arrayContaining(['--platform', 'linux/arm64']));
  });

  it('make image refuses an existing builder of that name with another driver or BuildKit', async () => {
    writeFileSync(path.join(dir, 'builders.json'), JSON.stringify({ 'enclavekit-repro': { driver: 'docker', image: '' } }));
    const result = await run(make, ['image'], { env: makeEnv(fakePath, { FAKE_DOCKER_DAEMON: '1', FAKE_BUILDX: '1' }) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('builder enclavekit-repro exists but is not a docker-container builder');
    expect(calls().at(-1)?.slice(1, 3)).toEqual(['buildx', 'inspect']);
    rmSync(path.join(dir, 'builders.json'));
  });

  it('make eif builds from the image and saves the measurements with the nitro-cli, kernel and blob versions behind PCR1', async () => {
    const blobs = path.join(dir, 'blobs');
    mkdirSync(blobs);
    writeFileSync(path.join(blobs, 'bzImage'), 'kernel');
    writeFileSync(path.join(blobs, 'bzImage.config'), '#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.12.37 Kernel Configuration\n#\n');
    writeFileSync(path.join(blobs, 'init'), 'init');
    writeFileSync(path.join(blobs, 'nsm.ko'), 'nsm');
    writeFileSync(path.join(blobs, 'cmdline'), 'reboot=k');
    const result = await run(make, ['eif', `EIF=${eif()}`, `PCRS=${pcrs()}`, `NITRO_BLOBS=${blobs}`], { env: makeEnv(fakePath) });
    expect(result.code, result.stderr).toBe(0);
    expect(calls()).toContainEqual(['docker', 'image', 'inspect', 'enclavekit-enclave:latest']);
    expect(calls()).toContainEqual(['nitro-cli', 'build-enclave', '--docker-uri', 'enclavekit-enclave:latest', '--output-file', eif()]);
    const text = readFileSync(pcrs(), 'utf8');
    expect(parsePcrsJson(text)).toEqual({ 0: FAKE_PCRS.PCR0, 1: FAKE_PCRS.PCR1, 2: FAKE_PCRS.PCR2 });
    const build = (JSON.parse(text) as { Build: Record<string, unknown> }).Build;
    expect(build).toMatchObject({ nitroCli: 'Nitro CLI 1.4.2', kernel: '6.12.37', platform: 'linux/amd64', image: `sha256:${'d4'.repeat(32)}`, blobsDir: blobs });
    expect(Object.keys(build.blobs as object).sort()).toEqual(['bzImage', 'cmdline', 'init', 'nsm.ko']);
    expect((build.blobs as Record<string, string>).init).toBe(createHash('sha384').update('init').digest('hex'));
  });

  it('make run refuses less than 4x the EIF size, then starts the enclave with the given CPUs, memory and CID', async () => {
    writeFileSync(eif(), Buffer.alloc(1024 * 1024)); // 1 MiB
    const small = await run(make, ['run', `EIF=${eif()}`, 'MEMORY_MIB=3'], { env: makeEnv(fakePath) });
    expect(small.code).not.toBe(0);
    expect(small.stderr).toContain('MEMORY_MIB=3 is less than 4x the EIF size');

    const ok = await run(make, ['run', `EIF=${eif()}`, 'MEMORY_MIB=4', 'CPU_COUNT=4', 'ENCLAVE_CID=21', 'ENCLAVE_NAME=t1'], { env: makeEnv(fakePath) });
    expect(ok.code, ok.stderr).toBe(0);
    expect(calls().at(-1)).toEqual(['nitro-cli', 'run-enclave', '--eif-path', eif(), '--cpu-count', '4', '--memory', '4', '--enclave-cid', '21', '--enclave-name', 't1']);

    const debug = await run(make, ['run', `EIF=${eif()}`, 'MEMORY_MIB=4', 'ENCLAVE_CID=22', 'ENCLAVE_NAME=t2', 'DEBUG=1'], { env: makeEnv(fakePath) });
    expect(debug.code, debug.stderr).toBe(0);
    expect(calls().at(-1)?.slice(-2)).toEqual(['t2', '--debug-mode']);
  });

  it('make console finds the enclave by name', async () => {
    const result = await run(make, ['console', 'ENCLAVE_NAME=t1'], { env: makeEnv(fakePath) });
    expect(result.code, result.stderr).toBe(0);
    expect(calls().at(-1)).toEqual(['nitro-cli', 'console', '--enclave-id', `i-0123456789abcdef0-enc${(21).toString(16).padStart(16, '0')}`]);
    const missing = await run(make, ['console', 'ENCLAVE_NAME=nope'], { env: makeEnv(fakePath) });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('no running enclave named nope');
  });

  it('make policy writes a key policy bound to the saved measurements, with producers and a wrapped-key generator', async () => {
    const account = '111122223333';
    const role = (name: string) => `arn:aws:iam::${account}:role/${name}`;
    const out = path.join(dir, 'out', 'key-policy.json');
    const internalOut = path.join(dir, 'out', 'internal-key-policy.json');
    const launcher = path.join(dir, 'enclavekit.mts');
    writeFileSync(launcher, `import { main } from ${JSON.stringify(path.join(repoRoot, 'cli/main.ts'))};\nprocess.exitCode = await main(process.argv.slice(2));\n`);
    const vars = [
      `PCRS=${pcrs()}`, `POLICY=${out}`, `INTERNAL_POLICY=${internalOut}`, `ACCOUNT=${account}`, `ENCLAVE_ROLE=${role('enclave')}`, `ADMIN=${role('admin')}`,
      `PRODUCER=${role('producer-a')} ${role('producer-b')}`, `WRAPPED_KEY_GENERATOR=${role('keygen')}`,
      'ENCRYPTION_CONTEXT=purpose=card purpose=pii-text purpose=pii-value', `ENCLAVEKIT=${path.join(repoRoot, 'node_modules/.bin/tsx')} ${launcher}`,
    ];
    const missingVars = await run(make, ['policy', `PCRS=${pcrs()}`], { env: makeEnv(fakePath) });
    expect(missingVars.code).not.toBe(0);
    expect(missingVars.stderr).toContain('set ACCOUNT=');

    const result = await run(make, ['policy', ...vars], { env: makeEnv(fakePath), timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    const policy = JSON.parse(readFileSync(out, 'utf8')) as { Statement: { Sid: string; Principal: { AWS: string | string[] }; Action: string[]; Condition?: Record<string, Record<string, string | string[]>> }[] };
    const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    expect(bySid.EnclaveKitProducersEncrypt?.Principal.AWS).toEqual([role('producer-a'), role('producer-b')]);
    expect(bySid.EnclaveKitProducersEncrypt?.Condition?.StringEquals?.['kms:EncryptionContext:purpose']).toEqual(['card', 'pii-text', 'pii-value']);
    // The wrapped keys live under the internal key, whose policy names no producer.
    expect(bySid.EnclaveKitWrappedKeyGeneration).toBeUndefined();
    const internal = JSON.parse(readFileSync(internalOut, 'utf8')) as typeof policy;
    const internalBySid = Object.fromEntries(internal.Statement.map((s) => [s.Sid, s]));
    expect(internalBySid.EnclaveKitWrappedKeyGeneration).toMatchObject({ Principal: { AWS: role('keygen') }, Action: ['kms:GenerateDataKeyWithoutPlaintext'] });
    expect(internalBySid.EnclaveKitProducersEncrypt).toBeUndefined();
    expect(bySid.EnclaveKitAttestedEnclave?.Condition?.StringEqualsIgnoreCase).toEqual({
      'kms:RecipientAttestation:PCR0': FAKE_PCRS.PCR0,
      'kms:RecipientAttestation:PCR1': FAKE_PCRS.PCR1,
      'kms:RecipientAttestation:PCR2': FAKE_PCRS.PCR2,
    });
  });
});
