/**
 * The package as a producer installs it: `npm pack` of this checkout, installed into a fresh
 * temporary project (npm's cache first, the npm registry only for what the cache lacks); a
 * plain-Node script there imports `enclavekit/client` and `enclavekit/verify`, verifies the
 * running stack's attestation document, seals a card (HPKE and ESDK) and tokenizes it; `tsc
 * --strict` type-checks a TypeScript consumer against the published declarations; and the
 * installed CLI answers `npx enclavekit --version`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hpkePublicKeyOf } from '../../shared/hpke/suite.js';
import { simRootPemPath } from '../../sim/state.js';
import { startStack, type Stack } from '../e2e/stack.js';
import { ensureBuilt, REPO_ROOT } from '../helpers/built.js';

const work = mkdtempSync(path.join(tmpdir(), 'ek-package-'));
const project = path.join(work, 'consumer');
const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const typesNode = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['@types/node']!;
/** A fixed producer key (the sender allowlisted in the stack): deterministic, and never a real secret. */
const SENDER_KEY = Buffer.alloc(32, 0x5a);
/** A fixed detokenize-to recipient key (a payment processor's), likewise. */
const RECIPIENT_KEY = Buffer.alloc(32, 0x6b);

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });

let stack: Stack;
let tarball: string;

beforeAll(async () => {
  ensureBuilt();
  if (!existsSync(path.join(REPO_ROOT, 'dist/lib/client/index.js'))) execFileSync(process.execPath, ['scripts/build-lib.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  // --ignore-scripts: pack what `npm test` just built instead of rebuilding dist/ under other test files.
  const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], REPO_ROOT)) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, packed[0]!.filename);
  const files = packed[0]!.files.map((f) => f.path);
  expect(files).toEqual(expect.arrayContaining(['package.json', 'bin/enclavekit.js', 'dist/cli.js', 'dist/lib/client/index.js', 'dist/lib/client/index.d.ts', 'dist/lib/client/verify.d.ts', 'binding.gyp']));
  expect(files.filter((f) => f.startsWith('test/') || f.startsWith('sim/') || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);

  cpSync(path.join(REPO_ROOT, 'test/package'), project, { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  npm(['install', '--prefer-offline', '--no-save', tarball, `@types/node@${typesNode}`], project);

  const sender = await hpkePublicKeyOf(new Uint8Array(SENDER_KEY));
  const recipient = await hpkePublicKeyOf(new Uint8Array(RECIPIENT_KEY));
  stack = await startStack({ cards: { hpkeSenders: [Buffer.from(sender).toString('base64')], detokenizeRecipients: { processor: Buffer.from(recipient).toString('base64') } } });
  await stack.waitReady();
}, 600_000);

afterAll(async () => {
  await stack?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the installed package', () => {
  it('from plain Node: verifies the document, seals a card with HPKE and with the ESDK (both tokenize to the same token), and opens the detokenize-to answer', async () => {
    const client = stack.principal('client');
    const env = {
      parentUrl: stack.parentUrl,
      apiToken: stack.apiToken,
      rootPem: simRootPemPath(path.join(stack.dir, 'sim')),
      pcrs: { 0: stack.pcrs[0], 2: stack.pcrs[2] },
      senderKey: SENDER_KEY.toString('hex'),
      recipient: { name: 'processor', privateKey: RECIPIENT_KEY.toString('hex') },
      kms: { endpoint: stack.sim.endpoint, region: stack.sim.region, caPem: stack.sim.caPem, keyArn: stack.keyArn, credentials: { accessKeyId: client.accessKeyId, secretAccessKey: client.secretAccessKey } },
    };
    // Asynchronous: the KMS simulator runs in this process and must keep answering.
    const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['consumer.mjs'], { cwd: project, timeout: 120_000, env: { ...process.env, CONSUMER_ENV: JSON.stringify(env) } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as { moduleId: string; sameVerdict: boolean; viaHpke: { status: number; json: { token: string } }; viaEsdk: { status: number; json: { token: string } }; detokenized: { status: number; pan: string; otherToken: string }; refused: string };
    expect(out.moduleId).toMatch(/^i-[0-9a-f]+-enc[0-9a-f]+$/);
    expect(out.sameVerdict).toBe(true);
    expect(out.viaHpke.status).toBe(200);
    expect(out.viaHpke.json.token).toMatch(/^\d{16}$/);
    expect(out.viaEsdk.status).toBe(200);
    expect(out.viaEsdk.json.token).toBe(out.viaHpke.json.token);
    expect(out.detokenized).toEqual({ status: 200, pan: '4111111111111111', otherToken: 'ERR_DECRYPT_FAILED' });
    expect(out.refused).toBe('ERR_PCR_MISMATCH');
  }, 120_000);

  it('resolves only the public entry points: no deep imports, no TypeScript sources', () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', "import('enclavekit/shared/errors.js').then(() => console.log('resolved'), (e) => console.log(e.code))"], { cwd: project, encoding: 'utf8' });
    expect(run.stdout.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(readdirSync(path.join(project, 'node_modules/enclavekit'))).not.toContain('test');
  });

  it('tsc --strict type-checks a TypeScript consumer against the published declarations', () => {
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: ['node'] }, files: ['consumer.ts'] }),
    );
    const tsc = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: project, encoding: 'utf8', timeout: 180_000 });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    // And the check can fail: a wrong type is reported.
    writeFileSync(path.join(project, 'wrong.ts'), "import { verifyAttestation } from 'enclavekit/verify';\nexport const v: string = verifyAttestation(new Uint8Array(0), { at: 0 });\n");
    const wrong = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--noEmit', '--types', 'node', 'wrong.ts'], { cwd: project, encoding: 'utf8', timeout: 180_000 });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toContain("is not assignable to type 'string'");
  }, 360_000);

  it('npx enclavekit --version runs the installed CLI', () => {
    const run = spawnSync('npx', ['--no-install', 'enclavekit', '--version'], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout).toBe(`${version}\n`);
    expect(run.status).toBe(0);
  }, 60_000);
});
