/**
 * Tests that spawn the CLI or the enclave use the bundles in dist/. `npm test` builds them right
 * before vitest starts; a test file never rebuilds them itself (another file may be running
 * them in a parallel worker). Run alone (`npx vitest run FILE`), a missing build is made once here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export function ensureBuilt(): void {
  if (existsSync(path.join(REPO_ROOT, 'dist/cli.js')) && existsSync(path.join(REPO_ROOT, 'dist/enclave.js'))) return;
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit', timeout: 120_000 });
}
