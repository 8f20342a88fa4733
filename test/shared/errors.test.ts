import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ALL_ERROR_CODES,
  AttestationError,
  DecryptionFailedError,
  EnclaveKitError,
  ERROR_CODES,
  errorFromWire,
  toEnclaveKitError,
} from '../../shared/errors.js';

const docRows = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
  .split('\n')
  .map((line) => /^\| `(ERR_[A-Z0-9_]+)` \| (\d{3}) \|/.exec(line))
  .filter((m): m is RegExpExecArray => m !== null)
  .map((m) => ({ code: m[1]!, status: Number(m[2]) }));

describe('error codes and docs/errors.md', () => {
  it('every code in the code is documented with its status', () => {
    for (const code of ALL_ERROR_CODES) {
      const row = docRows.find((r) => r.code === code);
      expect(row, `${code} missing from docs/errors.md`).toBeDefined();
      expect(row!.status, code).toBe(ERROR_CODES[code].status);
    }
  });

  it('every documented code exists in the code, once', () => {
    const documented = docRows.map((r) => r.code);
    expect(new Set(documented).size).toBe(documented.length);
    for (const code of documented) expect(ALL_ERROR_CODES).toContain(code);
  });
});

describe('EnclaveKitError', () => {
  it('carries code, status, name and cause, and serialises without the cause', () => {
    const cause = new Error('secret detail 4111111111111111');
    const err = new AttestationError('ERR_PCR_MISMATCH', 'PCR0 differs', { cause });
    expect(err).toBeInstanceOf(EnclaveKitError);
    expect(err.name).toBe('AttestationError');
    expect(err.status).toBe(422);
    expect(err.cause).toBe(cause);
    expect(JSON.stringify(err)).toBe('{"error":{"code":"ERR_PCR_MISMATCH","message":"PCR0 differs"}}');
  });

  it('decryption failures all share one message', () => {
    const a = new DecryptionFailedError({ cause: new Error('bad tag') });
    const b = new DecryptionFailedError({ cause: new Error('bad padding') });
    expect(a.message).toBe(b.message);
    expect(a.code).toBe('ERR_DECRYPT_FAILED');
  });

  it('maps foreign errors to ERR_INTERNAL without leaking their text', () => {
    const mapped = toEnclaveKitError(new Error('pan=4111111111111111'));
    expect(mapped.code).toBe('ERR_INTERNAL');
    expect(mapped.message).not.toContain('4111');
  });

  it('rebuilds typed errors from the wire and refuses unknown codes', () => {
    expect(errorFromWire({ code: 'ERR_NOT_READY', message: 'booting' }).code).toBe('ERR_NOT_READY');
    expect(errorFromWire({ code: 'ERR_MADE_UP', message: 'x' }).code).toBe('ERR_INTERNAL');
    expect(errorFromWire('nonsense').code).toBe('ERR_INTERNAL');
  });
});
