/**
 * Config parsing the fastify/enclaver way (docs/conventions.md item 8): a pure `parse(raw)` that rejects
 * unknown keys, applies documented defaults, and returns a deeply frozen object; loaders stay thin.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ServiceError } from '../errors.js';

export function parseConfigWith<S extends z.ZodType>(schema: S, raw: unknown, what: string): Readonly<z.infer<S>> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const first = result.error.issues[0];
    const where = first === undefined || first.path.length === 0 ? '(root)' : first.path.join('.');
    throw new ServiceError('ERR_CONFIG', `${what}: ${where}: ${first?.message ?? 'invalid'}`, { cause: result.error });
  }
  return deepFreeze(result.data);
}

export function readJsonFile(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new ServiceError('ERR_CONFIG', `${what}: cannot read ${file} as JSON`, { cause: error });
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
