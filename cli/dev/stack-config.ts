/**
 * The typed configs the local stack writes for its enclaves and parent: built as the schemas'
 * input types (enclave/config.ts, parent/config.ts), overrides merged in, then checked with the
 * same parsers the processes use, so a bad override fails before anything starts, naming the field.
 */
import type { z } from 'zod';
import { parseEnclaveConfig, type enclaveConfigSchema } from '../../enclave/config.js';
import { parseParentConfig, type parentConfigSchema } from '../../parent/config.js';

export type EnclaveConfigInput = z.input<typeof enclaveConfigSchema>;
export type ParentConfigInput = z.input<typeof parentConfigSchema>;

/** Objects merge key by key; anything else (arrays included) replaces. */
export type Overrides<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: Overrides<T[K]> } : T;
/** Overrides of the enclave config; keys the schema does not know are refused when checked. */
export type EnclaveOverrides = Overrides<EnclaveConfigInput> & Record<string, unknown>;
export type ParentOverrides = Overrides<ParentConfigInput> & Record<string, unknown>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `base` with `override` merged in (a fresh object; neither argument changes). */
export function mergeConfig<T>(base: T, override: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(override)) return (override === undefined ? base : override) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    out[key] = mergeConfig(out[key], value);
  }
  return out as T;
}

/** The merged enclave config, checked (ERR_CONFIG names the field and rule). */
export function checkedEnclaveConfig(base: EnclaveConfigInput, ...overrides: (EnclaveOverrides | undefined)[]): EnclaveConfigInput {
  const merged = overrides.reduce<EnclaveConfigInput>((config, o) => mergeConfig(config, o), base);
  parseEnclaveConfig(merged);
  return merged;
}

/** The merged parent config, checked. */
export function checkedParentConfig(base: ParentConfigInput, ...overrides: (ParentOverrides | undefined)[]): ParentConfigInput {
  const merged = overrides.reduce<ParentConfigInput>((config, o) => mergeConfig(config, o), base);
  parseParentConfig(merged);
  return merged;
}
