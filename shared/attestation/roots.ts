/**
 * Trust anchors. A document's `cabundle[0]` is accepted only when its SHA-256 equals the
 * fingerprint of one of these (attestation_process.md §3.2.3.1: "the root certificate … must be
 * validated against the pre-obtained AWS Nitro Enclaves root certificate"); the anchor's own copy,
 * not the document's, then supplies the key for the next link.
 */
import { ParsedCertificate } from './certificate.js';

/**
 * AWS Nitro Enclaves Root-G1 (docs/formats.md section 2). SHA-256 of the DER:
 * 641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b. Official download:
 * https://aws-nitro-enclaves.amazonaws.com/AWS_NitroEnclaves_Root-G1.zip (root.pem).
 */
export const AWS_NITRO_ROOT_G1_PEM = `-----BEGIN CERTIFICATE-----
MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD
VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4
MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL
DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG
BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb
48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE
h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF
R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC
MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW
rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N
IwLz3/Y=
-----END CERTIFICATE-----
`;

export const AWS_NITRO_ROOT_G1_SHA256 = '641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b';

/** Anchors by the SHA-256 (hex) of their DER. */
export type TrustAnchors = ReadonlyMap<string, ParsedCertificate>;

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;

/** Every CERTIFICATE block of a PEM text, as DER (RFC 7468 §5). */
export function pemCertificates(pem: string): Uint8Array[] {
  return [...pem.matchAll(PEM_BLOCK)].map((match) => new Uint8Array(Buffer.from((match[1] as string).replace(/\s+/g, ''), 'base64')));
}

/** Parsed roots, kept across calls: anchors are configuration, re-reading them per document is waste. */
const anchorMemo = new WeakMap<readonly (string | Uint8Array)[], TrustAnchors>();
const entryMemo = new Map<string, readonly ParsedCertificate[]>();
const ENTRY_MEMO_MAX = 64;
let defaultAnchors: TrustAnchors | undefined;

/** The anchors for a `roots` option (PEM texts, possibly with several certificates, or DER). */
export function trustAnchors(roots: readonly (string | Uint8Array)[] | undefined): TrustAnchors {
  if (roots === undefined) {
    defaultAnchors ??= buildAnchors([AWS_NITRO_ROOT_G1_PEM]);
    return defaultAnchors;
  }
  let anchors = anchorMemo.get(roots);
  if (anchors === undefined) {
    anchors = buildAnchors(roots);
    anchorMemo.set(roots, anchors);
  }
  return anchors;
}

function buildAnchors(roots: readonly (string | Uint8Array)[]): TrustAnchors {
  if (!Array.isArray(roots)) throw new TypeError('roots must be an array of PEM strings or DER bytes');
  const anchors = new Map<string, ParsedCertificate>();
  roots.forEach((root, index) => {
    for (const certificate of parseRoot(root, index)) anchors.set(certificate.sha256, certificate);
  });
  if (anchors.size === 0) throw new TypeError('roots is empty: at least one trust anchor is required');
  return anchors;
}

function parseRoot(root: string | Uint8Array, index: number): readonly ParsedCertificate[] {
  const key = typeof root === 'string' ? `pem:${root}` : root instanceof Uint8Array ? `der:${Buffer.from(root).toString('base64')}` : undefined;
  if (key === undefined) throw new TypeError(`roots[${index}] must be a PEM string or DER bytes`);
  const memo = entryMemo.get(key);
  if (memo !== undefined) return memo;
  const ders = typeof root === 'string' ? pemCertificates(root) : [new Uint8Array(root)];
  if (ders.length === 0) throw new TypeError(`roots[${index}] holds no PEM certificate`);
  const parsed = ders.map((der) => {
    try {
      return new ParsedCertificate(der);
    } catch (error) {
      throw new TypeError(`roots[${index}] is not an ECDSA P-384 X.509 certificate`, { cause: error });
    }
  });
  if (entryMemo.size >= ENTRY_MEMO_MAX) entryMemo.delete(entryMemo.keys().next().value as string);
  entryMemo.set(key, parsed);
  return parsed;
}
