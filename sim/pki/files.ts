/**
 * Small file helpers for the simulator state directory: atomic replacement (temp file, fsync,
 * rename) so a concurrent reader sees the old file or the new one, never half of either, and
 * explicit modes so private keys are 0600 from their first byte.
 */
import { chmod, mkdir, readFile } from 'node:fs/promises';

/** Private keys and credentials. */
export const SECRET_FILE_MODE = 0o600;
/** Certificates and other public state. */
export const PUBLIC_FILE_MODE = 0o644;
/** Directories that hold secrets. */
export const SECRET_DIR_MODE = 0o700;

export async function ensureDir(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  // mkdir's mode is filtered by the umask and ignored for an existing directory.
  await chmod(path, mode);
}

/** Crash-safe replacement with `mode` (sim/kms/atomic-file.ts: temp file, fsync, rename, fsync dir). */
export { writeFileAtomic } from '../kms/atomic-file.js';

/** The file's text, or undefined when it does not exist. Other errors propagate. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
