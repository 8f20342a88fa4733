// Bundles the CLI (and, once present, the production enclave app) with esbuild.
// Reproducible output: no timestamps, no random ids, stable file order (Dockerfile.enclave relies on it).
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';

mkdirSync('dist', { recursive: true });

const common = {
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
// modules such as cbor-extract keep working).
await build({ ...common, entryPoints: ['cli/main.ts'], outfile: 'dist/cli.js', packages: 'external' });

// The production enclave app: one self-contained file (plus the native addon) for the enclave image.
if (existsSync('enclave/main.ts')) {
  await build({ ...common, entryPoints: ['enclave/main.ts'], outfile: 'dist/enclave.js' });
}
