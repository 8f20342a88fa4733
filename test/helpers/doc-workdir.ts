/**
 * Where tests run documented commands (README.md's quick start, docs/api.md's examples): a scratch
 * directory laid out like the user's directory the docs assume, so every command runs as written
 * and whatever it writes (`doc.b64`, `rsa-key.der`, ...) lands there, never in the repository:
 * - `.enclavekit/`, the dev stack's state (startDevStack puts it there);
 * - `examples/`, a link to the repository's scripts (`node examples/seal.mjs ...`);
 * - `node_modules/`, links to the repository's dependencies plus this package itself, so
 *   `import 'enclavekit/client'`, `npx enclavekit` and (with `bin` first on PATH) `enclavekit`
 *   resolve to this checkout as they would in a project that installed it, without the registry.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './built.js';

export interface DocWorkdir {
  cwd: string;
  /** Put first on PATH: holds `enclavekit`. */
  bin: string;
  /** process.env with `bin` first on PATH. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}

export function docWorkdir(dir: string): DocWorkdir {
  const modules = path.join(dir, 'node_modules');
  const bin = path.join(modules, '.bin');
  mkdirSync(bin, { recursive: true });
  for (const entry of readdirSync(path.join(REPO_ROOT, 'node_modules'))) {
    if (!entry.startsWith('.')) symlinkSync(path.join(REPO_ROOT, 'node_modules', entry), path.join(modules, entry));
  }
  symlinkSync(REPO_ROOT, path.join(modules, 'enclavekit'));
  symlinkSync(path.join(REPO_ROOT, 'bin', 'enclavekit.js'), path.join(bin, 'enclavekit'));
  symlinkSync(path.join(REPO_ROOT, 'examples'), path.join(dir, 'examples'));
  return {
    cwd: dir,
    bin,
    env: (extra = {}) => ({ ...process.env, ...extra, PATH: `${bin}${path.delimiter}${extra['PATH'] ?? process.env['PATH'] ?? ''}` }),
  };
}

/**
 * The repository's untracked files and changes (`git status --porcelain`, ignored files aside):
 * equal before and after a test means the commands it ran wrote nothing into the repository.
 */
export function repositoryChanges(): string {
  return execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: REPO_ROOT, encoding: 'utf8' });
}
