/**
 * the enclave image is reproducible, so PCR0/PCR2 can be named in a key policy
 * before the EIF exists. What Dockerfile.enclave's build stage produces is tested here without
 * Docker: the bundle (scripts/build.mjs) and the native addon (node-gyp) are built in two clean
 * copies of the tracked tree, in different directories and at different times, and must be the
 * same bytes (SHA-384, the PCR hash). The bundle must also equal a build of this working tree (real
 * node_modules rather than a symlink) and contain no simulator code (docs/architecture.md: the
 * production enclave bundle contains no sim/ code).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATOR_BANNER_MARKER } from '../../sim/announce.js';
import { cleanCopy, repoRoot, run, sha384File, tempDir, trackedFiles } from './helpers.js';

const ENTRY = 'enclave/main.ts';
const hasEntry = trackedFiles().includes(ENTRY);
if (!hasEntry) console.warn(`reproducible-bundle tests skipped: ${ENTRY} is not committed yet`);

// node-gyp without network needs the running Node's headers (native/node-gyp.cjs).
const headersDir = path.resolve(path.dirname(process.execPath), '..', 'include', 'node');
const hasHeaders = existsSync(path.join(headersDir, 'node_api.h')) && existsSync(path.join(headersDir, 'common.gypi'));
if (!hasHeaders) console.warn(`addon reproducibility test skipped: no Node headers in ${headersDir} (node-gyp would download them)`);

/** Module comments esbuild writes before each inlined file (`// sim/nsm/simulated-nsm.ts`). */
function simulatorTraces(bundle: string): { modules: string[]; banner: boolean } {
  const modules = [...bundle.matchAll(/^\/\/ (sim\/\S+)$/gm)].map((m) => m[1]!);
  return { modules, banner: bundle.includes(SIMULATOR_BANNER_MARKER) };
}

async function buildBundle(tree: string, outdir: string): Promise<string> {
  const result = await run(process.execPath, [path.join(tree, 'scripts/build.mjs'), '--enclave-only', '--outdir', outdir], { cwd: tree, timeoutMs: 60_000 });
  expect(result.code, result.stderr).toBe(0);
  return path.join(outdir, 'enclave.js');
}

describe('reproducible enclave build', () => {
  const copies: string[] = [];
  const outs: string[] = [];

  beforeAll(() => {
    copies.push(cleanCopy('repro-a'), cleanCopy('repro-b'));
  });

  afterAll(() => {
    for (const dir of [...copies, ...outs]) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!hasEntry)('two clean copies give the same bundle (SHA-384), with no simulator code', async () => {
    const [a, b] = await Promise.all(copies.map(async (copy) => buildBundle(copy, path.join(copy, 'dist'))));
    const hashA = sha384File(a!);
    expect(sha384File(b!)).toBe(hashA);
    // Nothing of the checkout's location leaks into the bytes.
    const text = readFileSync(a!, 'utf8');
    for (const copy of copies) expect(text).not.toContain(copy);
    expect(text).not.toContain(repoRoot);
    expect(simulatorTraces(text)).toEqual({ modules: [], banner: false });
  });

  it.skipIf(!hasEntry)('the working tree builds the same bundle when its inputs are committed', async (ctx) => {
    // The bundle's inputs, as esbuild resolves them from the entry.
    const meta = await build({ absWorkingDir: repoRoot, entryPoints: [ENTRY], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent', preserveSymlinks: true });
    const inputs = [...Object.keys(meta.metafile.inputs).filter((input) => !input.startsWith('node_modules/')), 'scripts/build.mjs', 'scripts/enclave-bundle-rules.mjs', 'tsconfig.json', 'package-lock.json'];
    const dirty = execFileSync('git', ['status', '--porcelain', '--', ...inputs], { cwd: repoRoot, encoding: 'utf8' }).trim();
    if (dirty !== '') {
      console.warn(`working-tree comparison skipped: uncommitted bundle inputs:\n${dirty}`);
      ctx.skip();
    }
    const out = tempDir('repro-tree');
    outs.push(out);
    const fromTree = await buildBundle(repoRoot, out);
    const fromCopy = path.join(copies[0]!, 'dist', 'enclave.js');
    if (!existsSync(fromCopy)) await buildBundle(copies[0]!, path.join(copies[0]!, 'dist'));
    expect(sha384File(fromTree)).toBe(sha384File(fromCopy));
  });

  it('the simulator check finds simulator code when a bundle does contain it (control)', async () => {
    const result = await build({
      absWorkingDir: repoRoot,
      entryPoints: ['sim/nsm/simulated-nsm.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    const traces = simulatorTraces(result.outputFiles[0]!.text);
    expect(traces.modules).toContain('sim/nsm/simulated-nsm.ts');
    expect(traces.banner).toBe(true);
  });

  it.skipIf(!hasHeaders)('two clean copies build the same native addon (SHA-384)', async () => {
    const built = await Promise.all(
      copies.map(async (copy) => {
        const result = await run(process.execPath, ['native/node-gyp.cjs', 'rebuild'], { cwd: copy, timeoutMs: 120_000 });
        expect(result.code, result.stderr.slice(-2000)).toBe(0);
        return path.join(copy, 'build', 'Release', 'enclavekit.node');
      }),
    );
    const hash = sha384File(built[0]!);
    expect(sha384File(built[1]!)).toBe(hash);
    for (const copy of copies) expect(readFileSync(built[0]!).includes(Buffer.from(copy))).toBe(false);
  });
});
