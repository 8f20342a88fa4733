/**
 * The production enclave bundle contains only code the enclave runs. scripts/build.mjs builds
 * dist/enclave.js, writes esbuild's metafile beside it, prints the size and the largest inputs, and
 * fails when a forbidden module family (scripts/enclave-bundle-rules.mjs: simulator, CLI, DynamoDB
 * client, branch keystore, the ESDK's producer side, the SDK's default credential chain) puts bytes
 * into the bundle. The attack: a copy
 * of the tree whose enclave entry pulls in the hierarchical keyring and the simulator must not build.
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { FORBIDDEN_ENCLAVE_INPUTS, forbiddenInputs, largestInputs } from '../../scripts/enclave-bundle-rules.mjs';
import { cleanCopy, repoRoot, run, tempDir } from './helpers.js';

const hasEntry = existsSync(path.join(repoRoot, 'enclave/main.ts'));
if (!hasEntry) console.warn('enclave-bundle tests skipped: enclave/main.ts does not exist yet');

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function buildEnclave(tree: string): Promise<{ code: number | null; stdout: string; stderr: string; outdir: string }> {
  const outdir = tempDir('bundle-out');
  dirs.push(outdir);
  const result = await run(process.execPath, [path.join(tree, 'scripts/build.mjs'), '--enclave-only', '--outdir', outdir], { cwd: tree, timeoutMs: 120_000 });
  return { ...result, outdir };
}

/** A metafile whose one output holds the given inputs with the given byte counts. */
const metafileOf = (inputs: Record<string, number>): Metafile => ({
  inputs: Object.fromEntries(Object.keys(inputs).map((input) => [input, { bytes: 1, imports: [] }])),
  outputs: {
    'out.js': {
      bytes: 1,
      imports: [],
      exports: [],
      entryPoint: 'enclave/main.ts',
      inputs: Object.fromEntries(Object.entries(inputs).map(([input, bytesInOutput]) => [input, { bytesInOutput }])),
    },
  },
});

describe('enclave bundle rules', () => {
  it('name each forbidden family when it puts bytes into the output, and ignore modules tree-shaken to nothing', () => {
    const found = forbiddenInputs(
      metafileOf({
        'sim/kms/server.ts': 10,
        'cli/main.ts': 10,
        'node_modules/@aws-sdk/client-dynamodb/dist-es/DynamoDBClient.js': 10,
        'node_modules/@aws-sdk/util-dynamodb/dist-es/marshall.js': 10,
        'node_modules/@aws-crypto/branch-keystore-node/build/module/src/index.js': 10,
        'node_modules/@aws-crypto/encrypt-node/build/module/src/index.js': 10,
        'node_modules/@aws-sdk/credential-provider-process/dist-es/index.js': 10,
        'node_modules/@aws-crypto/branch-keystore-node/build/module/src/types.js': 0,
        'enclave/main.ts': 10,
        'node_modules/@aws-crypto/decrypt-node/build/module/src/index.js': 10,
        'node_modules/@aws-sdk/client-kms/dist-es/KMSClient.js': 10,
      }),
    );
    expect(found.map((f) => f.replace(/^.* \((.*)\)$/, '$1')).sort()).toEqual(
      ['CLI', 'DynamoDB client', 'DynamoDB client', 'ESDK producer side', 'branch keystore', 'default credential chain', 'simulator'].sort(),
    );
    expect(found.join('\n')).not.toContain('types.js');
    expect(FORBIDDEN_ENCLAVE_INPUTS.map((r) => r.why)).toEqual(expect.arrayContaining(['simulator', 'CLI', 'DynamoDB client', 'branch keystore']));
  });

  it('sum output bytes per package, largest first', () => {
    const top = largestInputs(metafileOf({ 'node_modules/zod/a.js': 5, 'node_modules/zod/b.js': 5, 'node_modules/@scope/p/x.js': 7, 'enclave/a.ts': 3, 'enclave/b.ts': 1 }), 2);
    expect(top).toEqual([['zod', 10], ['@scope/p', 7]]);
  });
});

describe.skipIf(!hasEntry)('scripts/build.mjs --enclave-only', () => {
  it('builds a bundle with no forbidden module, writes its metafile and prints its size and largest inputs', async () => {
    const result = await buildEnclave(repoRoot);
    expect(result.code, result.stderr).toBe(0);
    const bundle = path.join(result.outdir, 'enclave.js');
    const metafile = JSON.parse(readFileSync(path.join(result.outdir, 'enclave.meta.json'), 'utf8')) as Metafile;
    expect(forbiddenInputs(metafile)).toEqual([]);
    const size = readFileSync(bundle).length;
    expect(result.stdout).toContain(`enclave.js ${size} bytes`);
    expect(result.stdout).toMatch(/largest inputs: \S+ \d+ KiB/);
    // The bundle text agrees with the metafile: no module comment of a forbidden package.
    const text = readFileSync(bundle, 'utf8');
    expect(text).not.toMatch(/^\/\/ node_modules\/@aws-sdk\/client-dynamodb\//m);
    expect(text).not.toMatch(/^\/\/ node_modules\/@aws-crypto\/branch-keystore-node\//m);
    expect(text).toMatch(/^\/\/ node_modules\/@aws-crypto\/decrypt-node\//m); // the check can see packages at all (control)
    // The SDK's default credential chain is replaced by a provider that refuses.
    expect(text).toContain('the enclave has no default AWS credential chain');
    console.log(`enclave bundle: ${size} bytes; largest inputs: ${largestInputs(metafile, 5).map(([n, b]) => `${n} ${b}`).join(', ')}`);
  });

  it('refuses to build when the enclave entry pulls in the hierarchical keyring and the simulator (attack)', async () => {
    const copy = cleanCopy('bundle-attack');
    dirs.push(copy);
    appendFileSync(
      path.join(copy, 'enclave/main.ts'),
      "\nimport { KmsHierarchicalKeyRingNode } from '@aws-crypto/kms-keyring-node';\nimport { simulatorBanner } from '../sim/announce.js';\nconsole.log(typeof KmsHierarchicalKeyRingNode, simulatorBanner('x'));\n",
    );
    const result = await buildEnclave(copy);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the enclave bundle contains modules it must never contain');
    for (const why of ['(DynamoDB client)', '(branch keystore)', '(simulator)']) expect(result.stderr).toContain(why);
  });
});
