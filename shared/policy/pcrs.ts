/**
 * Reads PCR measurements from the JSON `nitro-cli build-enclave` (and `describe-eif`) prints,
 *   {"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": "<96 hex>", "PCR1": ..., "PCR2": ..., ["PCR8": ...]}}
 * or from a flat object {"PCR0": "<96 hex>", ...} (docs/formats.md section 6).
 * Pure: the caller reads the file. Values come back as lower-case hex.
 */
import { InputError } from '../errors.js';

/** SHA-384: 48 bytes, 96 hex digits (the only digest Nitro enclaves use, docs/formats.md 1.3). */
const PCR_HEX_RE = /^[0-9a-fA-F]{96}$/;
const PCR_NAME_RE = /^PCR([0-9]|[12][0-9]|3[01])$/;

function bad(message: string): InputError {
  return new InputError('ERR_BAD_REQUEST', `PCR file: ${message}`);
}

/** `N=HEX` → [N, hex]; validates the index (0..31) and the value (96 hex digits). */
export function parsePcrValue(index: number, hex: string, where: string): string {
  if (!Number.isInteger(index) || index < 0 || index > 31) throw new InputError('ERR_BAD_REQUEST', `${where}: PCR index must be 0..31`);
  if (!PCR_HEX_RE.test(hex)) throw new InputError('ERR_BAD_REQUEST', `${where}: PCR${index} must be 96 hex digits (SHA-384)`);
  return hex.toLowerCase();
}

/**
 * The JSON text, or the JSON object that ends the text: a file saved from the whole output of
 * `nitro-cli build-enclave` may start with its progress lines ("Start building the Enclave Image...";
 * UNCONFIRMED whether nitro-cli writes them to stdout or stderr), so a first line that opens an
 * object is also tried.
 */
function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const start = text.search(/^\{/m);
    if (start > 0) {
      try {
        return JSON.parse(text.slice(start));
      } catch {
        // fall through to the error about the whole text
      }
    }
    throw new InputError('ERR_BAD_REQUEST', 'PCR file: not valid JSON', { cause });
  }
}

export function parsePcrsJson(json: string | unknown): Record<number, string> {
  let doc: unknown = json;
  if (typeof json === 'string') doc = parseJsonText(json);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('must be a JSON object');
  // nitro-cli nests the values under "Measurements" (describe-eif adds other top-level fields).
  const measurements = 'Measurements' in doc ? (doc as { Measurements: unknown }).Measurements : doc;
  if (typeof measurements !== 'object' || measurements === null || Array.isArray(measurements)) {
    throw bad('"Measurements" must be an object');
  }
  const pcrs: Record<number, string> = {};
  for (const [name, value] of Object.entries(measurements)) {
    if (name === 'HashAlgorithm') {
      if (typeof value !== 'string' || !/384/.test(value)) throw bad('HashAlgorithm must be SHA-384 (nitro-cli prints "Sha384 { ... }")');
      continue;
    }
    const m = PCR_NAME_RE.exec(name);
    if (m === null) throw bad(`unknown field ${JSON.stringify(name.slice(0, 32))} (expected PCR0..PCR31 or HashAlgorithm)`);
    if (typeof value !== 'string') throw bad(`${name} must be a string`);
    pcrs[Number(m[1])] = parsePcrValue(Number(m[1]), value, 'PCR file');
  }
  if (Object.keys(pcrs).length === 0) throw bad('no PCR values');
  return pcrs;
}
