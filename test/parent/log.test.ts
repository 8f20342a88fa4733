/**
 * The parent's logger: lines logged in one event-loop iteration reach the file together at its
 * end, in order; close() writes what is still pending; an injected writer still gets each line
 * at once (tests read them synchronously).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../parent/log.js';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function logFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'enclavekit-log-'));
  dirs.push(dir);
  return path.join(dir, 'parent.log');
}

const nextIteration = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const msgs = (text: string): string[] => text.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg);

describe('parent logger batching', () => {
  it('writes the lines of one iteration to stdout in one write and to the file, in order', async () => {
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const file = logFile();
    const logger = createLogger({ file });
    for (let i = 0; i < 5; i += 1) logger.info(`request ${i}`, { status: 200 });
    expect(stdout).not.toHaveBeenCalled();
    await nextIteration();
    expect(stdout).toHaveBeenCalledTimes(1);
    expect(msgs(String(stdout.mock.calls[0]![0]))).toEqual(['request 0', 'request 1', 'request 2', 'request 3', 'request 4']);
    expect(msgs(readFileSync(file, 'utf8'))).toHaveLength(5); // in the file by the end of the iteration, not later
    logger.warn('later');
    await logger.close();
    expect(msgs(readFileSync(file, 'utf8'))).toEqual(['request 0', 'request 1', 'request 2', 'request 3', 'request 4', 'later']);
  });

  it('appends to an existing file and keeps lines logged after close() out of it', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const file = logFile();
    const first = createLogger({ file });
    first.info('first run');
    await first.close();
    first.info('after close');
    const second = createLogger({ file });
    second.info('second run');
    await second.close();
    await nextIteration();
    expect(msgs(readFileSync(file, 'utf8'))).toEqual(['first run', 'second run']);
  });

  it('close() writes lines still waiting for the end of the iteration', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const file = logFile();
    const logger = createLogger({ file });
    logger.error('last words', { code: 'ERR_INTERNAL' });
    await logger.close();
    expect(msgs(readFileSync(file, 'utf8'))).toEqual(['last words']);
  });

  it('hands an injected writer each line at once', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    logger.info('one');
    logger.info('two');
    expect(msgs(lines.join(''))).toEqual(['one', 'two']);
  });
});
