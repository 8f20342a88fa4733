/**
 * The enclavekit package directory (where bin/, dist/ and node_modules/ are), found by walking up
 * from this module: it runs from cli/ in source form and from dist/ or dist/cli/ when bundled.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = path.dirname(from);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'enclavekit') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('enclavekit: cannot find the package root');
    dir = parent;
  }
}
