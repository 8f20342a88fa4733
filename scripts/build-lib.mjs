// Compiles the package's library entry points (enclavekit/client, enclavekit/verify) to ES modules
// with type declarations in dist/lib/, from tsconfig.lib.json. Separate from scripts/build.mjs
// (the esbuild bundles of the CLI and the enclave): consumers import these files one by one, so
// only what an entry point needs is loaded, and tsc (not esbuild) writes the .d.ts files.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// A clean directory: a file removed from the sources must not linger in the package.
rmSync(path.join(root, 'dist/lib'), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.lib.json'], { cwd: root, stdio: 'inherit' });
