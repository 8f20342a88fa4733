/** Shared bits of the native-addon tests. */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { addonLoadError, findAddon } from '../../shared/native/addon.js';

export const addon = findAddon();
export const addonMissing = addon === undefined;
if (addonMissing) console.warn(`native addon tests skipped: ${addonLoadError()}`);

export function tempSocketDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

export { patternBytes } from '../helpers/pattern-bytes.js';

/** Everything the stream yields until its readable side ends. */
export function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** Resolves when `stream` emitted 'close' (at once if it already had). */
export function closed(stream: Duplex): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

/** Writes `data` in pieces of `piece` bytes, honouring backpressure, then ends. */
export async function writeAllAndEnd(stream: Duplex, data: Buffer, piece = 100_000): Promise<void> {
  for (let offset = 0; offset < data.length; offset += piece) {
    if (!stream.write(data.subarray(offset, offset + piece))) {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        const onClose = (): void => reject(new Error('stream closed before drain'));
        stream.once('error', onError);
        stream.once('close', onClose);
        stream.once('drain', () => {
          stream.off('error', onError);
          stream.off('close', onClose);
          resolve();
        });
      });
    }
  }
  await new Promise<void>((resolve) => stream.end(resolve));
}
