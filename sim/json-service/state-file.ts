/**
 * One JSON state file of a simulated service (DIR/ssm/parameters.json,
 * DIR/secretsmanager/secrets.json): read once at start, then every mutation runs alone, builds the
 * next document, writes it atomically (temp → fsync → rename → fsync dir: sim/kms/atomic-file.ts)
 * and only then replaces the in-memory copy and answers. A killed simulator restarts with every
 * change it acknowledged; a failed write leaves memory as it was. A damaged file stops the start
 * with ERR_SIM_STATE rather than starting empty.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ServiceError } from '../../shared/errors.js';
import { writeFileAtomic } from '../kms/atomic-file.js';

export class JsonStateFile<T> {
  private value: T;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly path: string, value: T) {
    this.value = value;
  }

  /** `validate` returns the typed document or null when the file is damaged. */
  static async open<T>(path: string, empty: () => T, validate: (raw: unknown) => T | null): Promise<JsonStateFile<T>> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new JsonStateFile(path, empty());
      throw error;
    }
    let parsed: T | null = null;
    try {
      parsed = validate(JSON.parse(text));
    } catch {
      parsed = null;
    }
    if (parsed === null) throw new ServiceError('ERR_SIM_STATE', `simulator state file ${path} is damaged`);
    return new JsonStateFile(path, parsed);
  }

  /** Reads a state file written by another process (e.g. SSM reading Secrets Manager's), or null if absent. */
  static async peek<T>(path: string, validate: (raw: unknown) => T | null): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const parsed = validate(JSON.parse(text));
    if (parsed === null) throw new ServiceError('ERR_SIM_STATE', `simulator state file ${path} is damaged`);
    return parsed;
  }

  get current(): T {
    return this.value;
  }

  /**
   * Runs `fn` alone on a deep copy of the state; when it returns, the copy is persisted and becomes
   * the state. A throw leaves state and file unchanged.
   */
  mutate<R>(fn: (draft: T) => Promise<R> | R): Promise<R> {
    const run = this.queue.then(async () => {
      const draft = structuredClone(this.value);
      const result = await fn(draft);
      await writeFileAtomic(this.path, JSON.stringify(draft), 0o600);
      this.value = draft;
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Waits for the mutations in flight. */
  async settle(): Promise<void> {
    await this.queue;
  }
}
