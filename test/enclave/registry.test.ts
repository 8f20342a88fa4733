import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { HandlerRegistry } from '../../enclave/app/registry.js';

const ctx = { signal: new AbortController().signal };

describe('HandlerRegistry', () => {
  const registry = new HandlerRegistry().register({
    op: 'acme.score',
    input: z.strictObject({ value: z.number().int().max(100) }),
    handle: async ({ value }) => ({ high: value > 10 }),
  });

  it('validates and dispatches', async () => {
    await expect(registry.dispatch('acme.score', { value: 42 }, ctx)).resolves.toEqual({ high: true });
    expect(registry.ops()).toEqual(['acme.score']);
  });

  it('refuses invalid input naming the field but never echoing the value', async () => {
    const secret = '4111111111111111';
    for (const body of [{ value: secret }, { value: 1, extra: secret }, secret, null]) {
      const error = await registry.dispatch('acme.score', body, ctx).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_BAD_REQUEST' });
      expect(String((error as Error).message)).not.toContain('4111');
    }
    await expect(registry.dispatch('acme.score', { value: 'x' }, ctx)).rejects.toThrow(/invalid value/);
  });

  it('refuses unknown operations, bad names and duplicates', async () => {
    await expect(registry.dispatch('nope', {}, ctx)).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
    expect(() => registry.register({ op: 'Bad Name', input: z.any(), handle: async () => 1 })).toThrow(TypeError);
    expect(() => registry.register({ op: 'acme.score', input: z.any(), handle: async () => 1 })).toThrow(/twice/);
  });
});
