/**
 * Config errors say what to fix: the file, and whether it is missing, unreadable, not JSON, or
 * which field breaks which rule; never a value from the file (it may hold API tokens).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { parseParentConfig } from '../../parent/config.js';
import { loadConfigFile } from '../../shared/config/parse.js';
import { EnclaveKitError } from '../../shared/errors.js';
import { ensureBuilt } from '../helpers/built.js';
import { enclavekit } from './run.js';

const work = mkdtempSync(join(tmpdir(), 'ek-config-'));
const SECRET = 'tok-0123456789abcdef-secret';
const file = (name: string, text: string): string => {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
};
const parentBase = { apiTokens: [SECRET], enclaves: ['ws://127.0.0.1:1'], region: 'us-east-1' };

function failure(path: string, parse: (raw: unknown) => unknown = parseParentConfig, what = 'parent config'): string {
  try {
    loadConfigFile(path, what, parse);
  } catch (error) {
    expect(error).toBeInstanceOf(EnclaveKitError);
    expect((error as EnclaveKitError).code).toBe('ERR_CONFIG');
    expect((error as Error).message).not.toContain(SECRET);
    return (error as Error).message;
  }
  throw new Error('expected a config error');
}

beforeAll(() => ensureBuilt(), 150_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('config file errors', () => {
  it('a missing file', () => {
    const path = join(work, 'missing.json');
    expect(failure(path)).toBe(`parent config ${path}: file not found`);
  });

  it('an unreadable path (a directory)', () => {
    const path = join(work, 'a-directory');
    mkdirSync(path);
    expect(failure(path)).toBe(`parent config ${path}: cannot be read (EISDIR)`);
  });

  it('not JSON: the line and column, never the text around it', () => {
    const path = file('bad.json', `{\n  "apiTokens": ["${SECRET}"],\n  "region": us-east-1\n}`);
    expect(failure(path)).toMatch(new RegExp(`^parent config ${path}: not valid JSON`));
    const truncated = file('truncated.json', `{"apiTokens": ["${SECRET}"]`);
    expect(failure(truncated)).toBe(`parent config ${truncated}: not valid JSON (line 1, column 46)`);
  });

  it('a field that breaks a rule: its dotted path and the rule, not the value', () => {
    const port = file('port.json', JSON.stringify({ ...parentBase, http: { port: 70000 } }));
    expect(failure(port)).toMatch(new RegExp(`^parent config ${port}: http\\.port: .*65535`));
    const short = file('short.json', JSON.stringify({ ...parentBase, apiTokens: ['short-secret-x'] }));
    expect(failure(short)).toMatch(new RegExp(`^parent config ${short}: apiTokens\\.0: .*16`));
    expect(failure(short)).not.toContain('short-secret-x');
    const missing = file('missing-region.json', JSON.stringify({ apiTokens: [SECRET], enclaves: ['ws://127.0.0.1:1'] }));
    expect(failure(missing)).toBe(`parent config ${missing}: region: required`);
    const unknown = file('unknown.json', JSON.stringify({ ...parentBase, maxBodyByte: 5 }));
    expect(failure(unknown)).toBe(`parent config ${unknown}: (root): unknown field (maxBodyByte)`);
    const enclave = file('enclave.json', JSON.stringify({ kms: { region: 'nowhere' } }));
    expect(failure(enclave, parseEnclaveConfig, 'enclave config')).toMatch(new RegExp(`^enclave config ${enclave}: kms\\.region: `));
  });

  it('through the CLI: exit 1 with ERR_CONFIG and the file', async () => {
    const path = join(work, 'nope.json');
    const parent = await enclavekit(['parent', '--config', path]);
    expect(parent.status).toBe(1);
    expect(parent.stderr).toBe(`enclavekit parent: fatal: ERR_CONFIG: parent config ${path}: file not found\n`);
    const enclave = await enclavekit(['enclave', '--config', path]);
    expect(enclave.status).toBe(1);
    expect(enclave.stderr).toContain(`enclave config ${path}: file not found`);
  });
});
