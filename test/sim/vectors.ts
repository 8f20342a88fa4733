/**
 * The real Nitro attestation documents of ../shared/vectors/attestation (origins in its README
 * and FORMATS.md section 3), for structure comparisons with simulated documents.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ATTESTATION_VECTORS = fileURLToPath(new URL('../../../shared/vectors/attestation/', import.meta.url));

export interface ExpectedDoc {
  file: string;
  module_id: string;
  timestamp_ms: number;
  leaf_not_before: string;
  leaf_not_after: string;
  debug_mode: boolean;
  nonzero_pcrs: Record<string, string>;
  public_key: 'null' | 'empty' | 'bytes';
  payload_map: 'definite-length' | 'indefinite-length';
  cabundle_len: number;
}

export function expectedDocs(): ExpectedDoc[] {
  return JSON.parse(readFileSync(`${ATTESTATION_VECTORS}expected.json`, 'utf8')) as ExpectedDoc[];
}

export function realDoc(file: string): Uint8Array {
  return new Uint8Array(readFileSync(`${ATTESTATION_VECTORS}${file}`));
}

export function awsRootPem(): string {
  return readFileSync(`${ATTESTATION_VECTORS}aws_nitro_root_g1.pem`, 'utf8');
}
