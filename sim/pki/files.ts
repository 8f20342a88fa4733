/**
 * Small file helpers for the simulator state directory: atomic replacement (temp file, fsync,
 * rename) so a concurrent reader sees the old file or the new one, never half of either, and
 * explicit modes so private keys are 0600 from their first byte.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

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

/** Writes `data` to `path` atomically with `mode` (the temp file is created with it). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temp, path);
}

/** The file's text, or undefined when it does not exist. Other errors propagate. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
