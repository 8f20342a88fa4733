// Bundles the CLI and the production enclave app with esbuild.
//
//   node scripts/build.mjs                  dist/cli.js and (once enclave/main.ts exists) dist/enclave.js
//   node scripts/build.mjs --enclave-only   dist/enclave.js only (what Dockerfile.enclave ships)
//   node scripts/build.mjs --outdir DIR     write into DIR instead of dist/ (reproducibility tests)
//
// Reproducible output (Dockerfile.enclave, docs/deploy.md and test/deploy/reproducible.test.ts rely
// on it): the same source tree gives the same bytes wherever it is checked out. esbuild writes no
// timestamps or random ids; the remaining inputs are pinned here: the working directory is the
// repository root (not the caller's cwd), every path in the output is relative to it, and symlinks
// are not resolved, so a node_modules that is a symlink (the reproducibility test's clean copies)
// gives the same module comments as a real one. File mtimes are the caller's business
// (Dockerfile.enclave sets them from SOURCE_DATE_EPOCH).
//
// The enclave build also writes its esbuild metafile (enclave.meta.json beside the bundle), prints
// the bundle's size and its largest inputs, and fails if a module the enclave must never contain
// is in it (scripts/enclave-bundle-rules.mjs).
import { build } from 'esbuild';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { forbiddenInputs, largestInputs } from './enclave-bundle-rules.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: { 'enclave-only': { type: 'boolean', default: false }, outdir: { type: 'string', default: 'dist' } },
  strict: true,
});
const outdir = path.resolve(root, values.outdir);
mkdirSync(outdir, { recursive: true });

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  // ESM bundles that contain CommonJS dependencies need a real `require`.
  banner: { js: "import { createRequire as __ekCreateRequire } from 'node:module'; const require = __ekCreateRequire(import.meta.url);" },
};

// The CLI runs from the repository, beside node_modules: keep packages external (fast, and native
// modules such as cbor-extract keep working). Code splitting turns each command's dynamic import
// into its own chunk, so `enclavekit pcr` does not load the AWS SDK at start-up.
if (!values['enclave-only']) {
  // Old chunks are left in place: a CLI process started a moment ago may still be loading them.
  await build({
    ...common,
    entryPoints: { cli: 'cli/main.ts' },
    outdir,
    splitting: true,
    chunkNames: 'cli/[name]-[hash]',
    packages: 'external',
  });
}

// The production enclave app: one self-contained file (plus the native addon) for the enclave image.
// preserveSymlinks: see the header; npm ci's node_modules has no symlinked packages, so for a real
// install this changes nothing.
//
// The enclave's KMS client always gets its credentials from the parent (enclave/kms/kms-client.ts
// passes `credentials`), so the SDK's default credential chain, which @aws-sdk/client-kms imports
// for clients built without them, never runs there: environment variables, ini files, SSO, a
// credential process it would spawn, the instance metadata service over HTTP. It is replaced by a
// provider that fails loudly, which keeps about 220 KB of code out of what PCR2 measures and makes
// any path that reached it an error instead of credentials the enclave must not use.
const noDefaultCredentialChain = {
  name: 'no-default-credential-chain',
  setup(b) {
    b.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: 'no-default-credential-chain', namespace: 'enclavekit' }));
    b.onLoad({ filter: /.*/, namespace: 'enclavekit' }, () => ({
      resolveDir: root,
      loader: 'js',
      contents: [
        "import { ServiceError } from './shared/errors.ts';",
        'export const defaultProvider = () => async () => {',
        "  throw new ServiceError('ERR_INTERNAL', 'the enclave has no default AWS credential chain; credentials come from the parent');",
        '};',
      ].join('\n'),
    }));
  },
};
//
// mainFields puts `module` first (esbuild's default for platform node is main, then module): the
// @aws-crypto packages ship ES modules there and declare "sideEffects": false, so esbuild drops
// what the enclave does not import, such as @aws-crypto/kms-keyring-node's hierarchical keyring and
// the DynamoDB client behind it; from their CommonJS `main` every re-export would be kept.
if (existsSync(path.join(root, 'enclave/main.ts'))) {
  const outfile = path.join(outdir, 'enclave.js');
  const result = await build({
    ...common,
    entryPoints: ['enclave/main.ts'],
    outfile,
    preserveSymlinks: true,
    mainFields: ['module', 'main'],
    metafile: true,
    plugins: [noDefaultCredentialChain],
  });
  writeFileSync(path.join(outdir, 'enclave.meta.json'), `${JSON.stringify(result.metafile)}\n`);
  const forbidden = forbiddenInputs(result.metafile);
  if (forbidden.length > 0) {
    console.error(`build: the enclave bundle contains modules it must never contain:\n  ${forbidden.join('\n  ')}`);
    process.exit(1);
  }
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  const top = largestInputs(result.metafile, 8).map(([name, size]) => `${name} ${(size / 1024).toFixed(0)} KiB`);
  console.log(`build: ${path.relative(root, outfile)} ${bytes} bytes (${(bytes / 1048576).toFixed(2)} MiB); largest inputs: ${top.join(', ')}`);
} else if (values['enclave-only']) {
  console.error('build: enclave/main.ts does not exist, so there is no enclave bundle to build');
  process.exit(1);
}
