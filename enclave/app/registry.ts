/**
 * The enclave's narrow message API: a registry of named operations, each with an input schema
 * (checked before the handler runs) and its own limits. Handlers return derived results only
 * (tokens, masks, flags, counts): nothing registered here may return plaintext to the parent.
 *
 * Adding your own operation (docs/api.md, "Custom handlers"):
 *
 *   registry.register({
 *     op: 'acme.score',
 *     input: z.strictObject({ value: z.number() }),
 *     handle: async ({ value }) => ({ score: value > 10 }),
 *   });
 */
import type { z } from 'zod';
import { InputError } from '../../shared/errors.js';

export interface HandlerContext {
  signal: AbortSignal;
}

export interface HandlerDefinition<S extends z.ZodType = z.ZodType, R = unknown> {
  /** Dotted, lower-case name, e.g. `cards.tokenize`. */
  op: string;
  input: S;
  handle(input: z.infer<S>, ctx: HandlerContext): Promise<R>;
}

const OP_NAME = /^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*$/;

export class HandlerRegistry {
  readonly #handlers = new Map<string, HandlerDefinition>();

  register<S extends z.ZodType, R>(definition: HandlerDefinition<S, R>): this {
    if (!OP_NAME.test(definition.op) || definition.op.length > 64) throw new TypeError(`bad operation name ${definition.op}`);
    if (this.#handlers.has(definition.op)) throw new TypeError(`operation ${definition.op} registered twice`);
    this.#handlers.set(definition.op, definition as unknown as HandlerDefinition);
    return this;
  }

  ops(): string[] {
    return [...this.#handlers.keys()];
  }

  has(op: string): boolean {
    return this.#handlers.has(op);
  }

  /** Validates `body` against the operation's schema, then runs it. */
  async dispatch(op: string, body: unknown, ctx: HandlerContext): Promise<unknown> {
    const handler = this.#handlers.get(op);
    if (handler === undefined) throw new InputError('ERR_BAD_REQUEST', `unknown operation ${op.slice(0, 64)}`);
    const parsed = handler.input.safeParse(body);
    if (!parsed.success) {
      // Name the field and the rule, never the value (it may be card data).
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.join('.');
      throw new InputError('ERR_BAD_REQUEST', `${op}: invalid ${where} (${issue?.code ?? 'invalid'})`);
    }
    return handler.handle(parsed.data, ctx);
  }
}
