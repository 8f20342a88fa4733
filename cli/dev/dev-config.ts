/**
 * The file `enclavekit dev --config FILE` reads (JSON; no YAML parser is among the dependencies):
 * how many enclaves, the port, and overrides merged into the enclave and parent configs the dev
 * stack writes. The overrides are checked with the enclave and parent schemas themselves
 * (stack-config.ts), so a wrong field is reported exactly as in a production config.
 */
import { z } from 'zod';
import { loadConfigFile, parseConfigWith } from '../../shared/config/parse.js';
import { mergeConfig, type EnclaveOverrides, type ParentOverrides } from './stack-config.js';
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

export function parseDevConfig(raw: unknown): Readonly<DevConfig> {
  return parseConfigWith(devConfigSchema, raw, 'dev config') as Readonly<DevConfig>;
}

export function loadDevConfig(file: string): Readonly<DevConfig> {
  return loadConfigFile(file, 'dev config', parseDevConfig).config;
}

/** Switches anonymous (Base-mode) HPKE submission on, keeping the rest of the enclave overrides. */
export function withPublicSubmission(overrides: EnclaveOverrides): EnclaveOverrides {
  return mergeConfig(overrides, { cards: { publicSubmission: { enabled: true } } });
}
