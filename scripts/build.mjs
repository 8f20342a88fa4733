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
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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
if (existsSync(path.join(root, 'enclave/main.ts'))) {
  await build({ ...common, entryPoints: ['enclave/main.ts'], outfile: path.join(outdir, 'enclave.js'), preserveSymlinks: true });
} else if (values['enclave-only']) {
  console.error('build: enclave/main.ts does not exist, so there is no enclave bundle to build');
  process.exit(1);
}
