/**
 * The file `enclavekit dev --config FILE` reads (JSON; no YAML parser is among the dependencies):
 * how many enclaves, the port, and overrides merged into the enclave and parent configs the dev
 * stack writes. The overrides are checked with the enclave and parent schemas themselves
 * (stack-config.ts), so a wrong field is reported exactly as in a production config.
 */
import { z } from 'zod';
import { loadConfigFile, parseConfigWith } from '../../shared/config/parse.js';
import { EnclaveKitError, ServiceError } from '../../shared/errors.js';
import { checkedEnclaveConfig, checkedParentConfig, mergeConfig, type EnclaveOverrides, type ParentOverrides } from './stack-config.js';
import { MAX_ENCLAVES } from './stack.js';

export const devConfigSchema = z.strictObject({
  /** Enclaves behind the parent (1..4). Default 1. */
  enclaves: z.number().int().min(1).max(MAX_ENCLAVES).optional(),
  /** Parent HTTP port; 0 = any free port. Default 8080. */
  port: z.number().int().min(0).max(65535).optional(),
  /** Merged into every enclave's config (docs/config.md), e.g. {"cards": {"publicSubmission": {"enabled": true}}}. */
  enclave: z.record(z.string(), z.unknown()).default({}),
  /** Merged into the parent's config (docs/config.md); `apiTokens` replaces the dev token. */
  parent: z.record(z.string(), z.unknown()).default({}),
});

export interface DevConfig {
  enclaves?: number | undefined;
  port?: number | undefined;
  enclave: EnclaveOverrides;
  parent: ParentOverrides;
}

/**
 * Placeholders for what the stack fills in at start (keys, sockets, tokens): the overrides are
 * checked on top of them, so an error is found before anything starts and names the field.
 */
const PLACEHOLDER_KEY = 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000';
const ENCLAVE_BASE = { kms: { region: 'us-east-1' }, cards: { cardKeyArn: PLACEHOLDER_KEY } };
const PARENT_BASE = { apiTokens: ['placeholder-token-0123456789'], enclaves: ['unix:///placeholder.sock'], region: 'us-east-1' };

function checkSection(what: 'enclave' | 'parent', check: () => unknown): void {
  try {
    check();
  } catch (error) {
    if (!(error instanceof EnclaveKitError) || error.code !== 'ERR_CONFIG') throw error;
    const rule = error.message.replace(/^(enclave|parent) config: /, '');
    throw new ServiceError('ERR_CONFIG', `dev config: ${what}.${rule}`, { cause: error.cause });
  }
}

export function parseDevConfig(raw: unknown): Readonly<DevConfig> {
  const config = parseConfigWith(devConfigSchema, raw, 'dev config') as Readonly<DevConfig>;
  checkSection('enclave', () => checkedEnclaveConfig(ENCLAVE_BASE, config.enclave));
  checkSection('parent', () => checkedParentConfig(PARENT_BASE, config.parent));
  return config;
}

export function loadDevConfig(file: string): Readonly<DevConfig> {
  return loadConfigFile(file, 'dev config', parseDevConfig).config;
}

/** Switches anonymous (Base-mode) HPKE submission on, keeping the rest of the enclave overrides. */
export function withPublicSubmission(overrides: EnclaveOverrides): EnclaveOverrides {
  return mergeConfig(overrides, { cards: { publicSubmission: { enabled: true } } });
}
