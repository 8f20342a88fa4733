/**
 * Path validation for the document's certificates (docs/formats.md 1.4 steps 3-6; RFC 5280 §6.1 as
 * the Nitro profile needs it; docs/conventions.md item 5: @peculiar/x509's chain builder checks none of it).
 *
 * Path, from the anchor down: [root, cabundle[1], …, cabundle[N-1], certificate]. cabundle[0] is
 * only compared with the pinned roots by SHA-256; the pinned copy signs cabundle[1].
 *
 * Order of checks (so that one fault always yields one code):
 * 1. anchor, then per link: the certificate is new to the path and parses, its issuer name is the
 *    parent's subject, the parent's key verifies its signature        → ERR_ATTESTATION_CHAIN
 * 2. CA rules at each position: cA set, keyCertSign, pathLen not exceeded; the leaf not a CA,
 *    with digitalSignature; no unknown critical extension              → ERR_ATTESTATION_CHAIN
 * 3. validity of every certificate at `at`, root first                 → ERR_ATTESTATION_NOT_YET_VALID
 *                                                                        / ERR_ATTESTATION_EXPIRED
 * CRLs are not consulted: the Nitro PKI does not publish them for this use (attestation_process.md
 * §3.2.3: "We do not use CRL").
 */
import { hash, verify, type KeyObject } from 'node:crypto';
import { AttestationError } from '../errors.js';
import { copyBytes, sameBytes } from './bytes.js';
import { KeyUsageBit, ParsedCertificate } from './certificate.js';
import type { ChainCache } from './chain-cache.js';
import type { TrustAnchors } from './roots.js';

export interface ValidatedChain {
  /** Leaf first, root last. */
  certificates: readonly ParsedCertificate[];
  leafKey: KeyObject;
}

function chainError(message: string, cause?: unknown): AttestationError {
  return new AttestationError('ERR_ATTESTATION_CHAIN', message, cause === undefined ? undefined : { cause });
}

function labelOf(position: number, count: number): string {
  if (position === 0) return 'root (cabundle[0])';
  return position === count ? 'leaf certificate' : `cabundle[${position}]`;
}

export function validateChain(certificate: Uint8Array, cabundle: readonly Uint8Array[], anchors: TrustAnchors, at: number, cache: ChainCache | null): ValidatedChain {
  const count = cabundle.length;
  const rootDer = cabundle[0];
  if (rootDer === undefined) throw chainError('cabundle is empty');
  const root = anchors.get(hash('sha256', rootDer, 'hex'));
  if (root === undefined) throw chainError('cabundle[0] is not a trusted root (SHA-256 fingerprint not pinned)');

  // 1. Links, top down.
  const path: ParsedCertificate[] = [root];
  const seen = new Set([root.sha256]);
  for (let position = 1; position <= count; position += 1) {
    const der = position < count ? (cabundle[position] as Uint8Array) : certificate;
    const label = labelOf(position, count);
    const parent = path[position - 1] as ParsedCertificate;
    const sha256 = hash('sha256', der, 'hex');
    // A repeated certificate (a self-signed root twice, say) would chain to itself and pass.
    if (seen.has(sha256)) throw chainError(`${label} repeats an earlier certificate of the chain`);
    seen.add(sha256);
    let entry = cache?.get(sha256);
    let child = entry?.certificate;
    if (child === undefined) {
      try {
        // A copy: a cached certificate must not keep the whole document buffer alive.
        child = new ParsedCertificate(copyBytes(der), sha256);
      } catch (error) {
        throw chainError(`${label} is not a valid Nitro X.509 certificate (${(error as Error).message})`, error);
      }
    }
    const role = position < count ? 'authority' : 'leaf';
    if (entry === undefined || !entry.verifiedIssuers.has(parent.sha256)) {
      const parentLabel = labelOf(position - 1, count);
      if (!sameBytes(child.issuerName, parent.subjectName)) throw chainError(`${label} is not issued by ${parentLabel} (issuer name differs)`);
      if (!signatureVerifies(child, parent, parentLabel)) throw chainError(`signature of ${parentLabel} on ${label} does not verify`);
      if (cache !== null) {
        entry = cache.add(child, role);
        entry.verifiedIssuers.add(parent.sha256);
      }
    } else if (cache !== null && role === 'authority') {
      // Known, and now seen issuing: it joins (or stays in) the tier that leaves never evict.
      cache.add(child, role);
    }
    path.push(child);
  }

  // 2. CA rules, from cached facts, at this chain's positions.
  for (let position = 0; position < count; position += 1) {
    const ca = path[position] as ParsedCertificate;
    const label = labelOf(position, count);
    if (!ca.isCA) throw chainError(`${label} is not a CA (basicConstraints cA not set)`);
    if (!ca.hasKeyUsage(KeyUsageBit.keyCertSign)) throw chainError(`${label} lacks keyUsage keyCertSign`);
    // RFC 5280 §4.2.1.9: pathLen = the most non-self-issued intermediates that may follow.
    const below = count - 1 - position;
    const pathLen = ca.basicConstraints?.pathLen;
    if (pathLen !== undefined && below > pathLen) throw chainError(`${label} allows ${pathLen} CA certificate(s) below it, the chain has ${below}`);
    rejectUnknownCritical(ca, label);
  }
  const leaf = path[count] as ParsedCertificate;
  if (leaf.isCA || leaf.basicConstraints?.pathLen !== undefined) throw chainError('leaf certificate must not be a CA');
  if (!leaf.hasKeyUsage(KeyUsageBit.digitalSignature)) throw chainError('leaf certificate lacks keyUsage digitalSignature');
  rejectUnknownCritical(leaf, 'leaf certificate');

  // 3. Validity at the verification time, for every certificate (root included).
  for (let position = 0; position <= count; position += 1) {
    const cert = path[position] as ParsedCertificate;
    if (at < cert.notBefore) {
      throw new AttestationError('ERR_ATTESTATION_NOT_YET_VALID', `${labelOf(position, count)} is not valid before ${iso(cert.notBefore)} (verification time ${iso(at)})`);
    }
    if (at > cert.notAfter) {
      throw new AttestationError('ERR_ATTESTATION_EXPIRED', `${labelOf(position, count)} expired at ${iso(cert.notAfter)} (verification time ${iso(at)})`);
    }
  }

  let leafKey: KeyObject;
  try {
    leafKey = leaf.publicKey();
  } catch (error) {
    throw chainError('leaf certificate public key is not a valid P-384 point', error);
  }
  return { certificates: path.reverse(), leafKey };
}

/** ecdsa-with-SHA384 over the TBSCertificate (RFC 5280 §4.1.1.3), DER signature. */
function signatureVerifies(child: ParsedCertificate, parent: ParsedCertificate, parentLabel: string): boolean {
  let key: KeyObject;
  try {
    key = parent.publicKey();
  } catch (error) {
    throw chainError(`${parentLabel} public key is not a valid P-384 point`, error);
  }
  try {
    return verify('sha384', child.tbs, key, child.signature);
  } catch {
    return false;
  }
}

function rejectUnknownCritical(cert: ParsedCertificate, label: string): void {
  if (cert.unknownCriticalExtensions.length > 0) {
    throw chainError(`${label} has an unsupported critical extension (${cert.unknownCriticalExtensions.join(', ')})`);
  }
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}
