/**
 * Recipient (Nitro attestation) on Decrypt, GenerateDataKey and GenerateRandom: a key policy that
 * allows the enclave role only for one PCR0, documents from the simulated NSM, and
 * CiphertextForRecipient opened by OpenSSL and by the enclave's own CMS code.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand, GenerateRandomCommand, type KMSClient } from '@aws-sdk/client-kms';
import { openCiphertextForRecipient, parseCiphertextForRecipient } from '../../enclave/kms/recipient-cms.js';
import type { SimulatedNsm } from '../../sim/nsm/simulated-nsm.js';
import { enclaveKeyPair, kmsError, makeStateDir, simulatedNsm, startHarness, type Harness } from './harness.js';
import { OPENSSL_AVAILABLE } from '../helpers/openssl.js';

const PCR0 = 'a1'.repeat(48);
const OTHER_PCR0 = 'b2'.repeat(48);
const PCR1 = 'c3'.repeat(48);
const PCR2 = 'd4'.repeat(48);
const MINUTE = 60_000;

let h: Harness;
let admin: KMSClient;
let enclave: KMSClient;
let keyId: string;
let keyArn: string;
let enclaveKey: { privateKey: KeyObject; spki: Uint8Array };
let good: SimulatedNsm;
let otherDir: string;
let workDir: string;

const OPENSSL = OPENSSL_AVAILABLE;
if (!OPENSSL) console.warn('openssl not found: the OpenSSL interop test is skipped');

beforeAll(async () => {
  h = await startHarness();
  admin = h.client('admin');
  enclave = h.client('enclave');
  enclaveKey = enclaveKeyPair();
  good = await simulatedNsm(h.dir, { 0: PCR0, 1: PCR1, 2: PCR2 });
  otherDir = await makeStateDir('ek-kms-other-');
  workDir = await mkdtemp(join(tmpdir(), 'ek-kms-cms-'));
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: h.principal('admin').arn }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'EnclaveWithAttestation',
        Effect: 'Allow',
        Principal: { AWS: h.principal('enclave').arn },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR0': PCR0 } },
      },
    ],
  });
  const created = await admin.send(new CreateKeyCommand({ Policy: policy, Description: 'enclave-bound' }));
  keyId = created.KeyMetadata!.KeyId!;
  keyArn = created.KeyMetadata!.Arn!;
});

afterAll(async () => {
  await h.close();
  await rm(otherDir, { recursive: true, force: true });
  await rm(workDir, { recursive: true, force: true });
});

async function docFrom(nsm: SimulatedNsm, spki: Uint8Array = enclaveKey.spki): Promise<Uint8Array> {
  return nsm.attest({ publicKey: spki });
}

function recipient(doc: Uint8Array): { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256'; AttestationDocument: Uint8Array } {
  return { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: doc };
}

async function secretBlob(plaintext: Uint8Array): Promise<Uint8Array> {
  return (await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }))).CiphertextBlob!;
}

describe('Decrypt with Recipient under a PCR0-bound key policy', () => {
  it('gives the measured enclave CiphertextForRecipient (and no Plaintext) that opens to the plaintext', async () => {
    const plaintext = randomBytes(48);
    const out = await enclave.send(new DecryptCommand({ CiphertextBlob: await secretBlob(plaintext), Recipient: recipient(await docFrom(good)) }));
    expect(out.Plaintext).toBeUndefined();
    expect(out.KeyId).toBe(keyArn);
    const cms = out.CiphertextForRecipient!;
    // Recipient identified by SHA-256 of the SPKI (docs/formats.md 5.3).
    expect(Buffer.from(parseCiphertextForRecipient(cms).recipientKeyId)).toEqual(createHash('sha256').update(enclaveKey.spki).digest());
    expect(Buffer.from(openCiphertextForRecipient(cms, enclaveKey.privateKey))).toEqual(plaintext);
  });

  it('denies the same role without a Recipient, with the AWS message (its IAM deny-unattested policy)', async () => {
    const err = await kmsError(enclave.send(new DecryptCommand({ CiphertextBlob: await secretBlob(Buffer.from('x')) })));
    expect(err.name).toBe('AccessDeniedException');
    expect(err.status).toBe(400);
    expect(err.message).toBe(
      `User: ${h.principal('enclave').arn} is not authorized to perform: kms:Decrypt on resource: ${keyArn} with an explicit deny in an identity-based policy`,
    );
  });

  it('denies a document with another PCR0', async () => {
    const nsm = await simulatedNsm(h.dir, { 0: OTHER_PCR0, 1: PCR1, 2: PCR2 });
    const err = await kmsError(enclave.send(new DecryptCommand({ CiphertextBlob: await secretBlob(Buffer.from('x')), Recipient: recipient(await docFrom(nsm)) })));
    expect(err.name).toBe('AccessDeniedException');
  });

  it('denies a debug-mode document (PCR0-2 all zero)', async () => {
    const nsm = await simulatedNsm(h.dir, {});
    const err = await kmsError(enclave.send(new DecryptCommand({ CiphertextBlob: await secretBlob(Buffer.from('x')), Recipient: recipient(await docFrom(nsm)) })));
    expect(err.name).toBe('AccessDeniedException');
  });

  it('denies a document signed by another root, even with the right PCR0', async () => {
    const nsm = await simulatedNsm(otherDir, { 0: PCR0, 1: PCR1, 2: PCR2 });
    const err = await kmsError(enclave.send(new DecryptCommand({ CiphertextBlob: await secretBlob(Buffer.from('x')), Recipient: recipient(await docFrom(nsm)) })));
    expect(err.name).toBe('AccessDeniedException');
  });

  it('denies a stale document (older than the 5-minute window), even with the right PCR0', async () => {
    const tenMinutesAgo = (): number => Date.now() - 10 * MINUTE;
    const nsm = await simulatedNsm(h.dir, { 0: PCR0, 1: PCR1, 2: PCR2 }, tenMinutesAgo);
    const err = await kmsError(enclave.send(new DecryptCommand({ CiphertextBlob: await secretBlob(Buffer.from('x')), Recipient: recipient(await docFrom(nsm)) })));
    expect(err.name).toBe('AccessDeniedException');
  });

  it('denies bytes that are not an attestation document', async () => {
    const err = await kmsError(enclave.send(new DecryptCommand({ CiphertextBlob: await secretBlob(Buffer.from('x')), Recipient: recipient(randomBytes(300)) })));
    expect(err.name).toBe('AccessDeniedException');
  });

  it('refuses a valid document whose public_key is not RSA (ValidationException)', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const err = await kmsError(enclave.send(new DecryptCommand({ CiphertextBlob: await secretBlob(Buffer.from('x')), Recipient: recipient(await docFrom(good, new Uint8Array(ec))) })));
    expect(err.name).toBe('ValidationException');
  });
});

describe('kms:RecipientAttestation:ImageSha384 and PCRn', () => {
  it('carry the document PCR0 as ImageSha384 and every PCR as PCRn', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: h.principal('admin').arn }, Action: 'kms:*', Resource: '*' },
        {
          Sid: 'Image', Effect: 'Allow', Principal: { AWS: h.principal('enclave').arn }, Action: 'kms:Decrypt', Resource: '*',
          Condition: { StringEquals: { 'kms:RecipientAttestation:ImageSha384': PCR0, 'kms:RecipientAttestation:PCR2': PCR2 } },
        },
      ],
    });
    const key = await admin.send(new CreateKeyCommand({ Policy: policy }));
    const blob = (await admin.send(new EncryptCommand({ KeyId: key.KeyMetadata!.KeyId, Plaintext: Buffer.from('img') }))).CiphertextBlob!;
    const ok = await enclave.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient(await docFrom(good)) }));
    expect(Buffer.from(openCiphertextForRecipient(ok.CiphertextForRecipient!, enclaveKey.privateKey)).toString()).toBe('img');
    const wrongPcr2 = await simulatedNsm(h.dir, { 0: PCR0, 1: PCR1, 2: PCR1 });
    expect((await kmsError(enclave.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient(await docFrom(wrongPcr2)) })))).name).toBe('AccessDeniedException');
  });
});

describe('GenerateDataKey with Recipient', () => {
  it('returns CiphertextBlob and a CiphertextForRecipient that OpenSSL and the enclave code open to the bytes Decrypt returns to the admin', async () => {
    const out = await enclave.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: recipient(await docFrom(good)) }));
    expect(out.Plaintext).toBeUndefined();
    expect(out.CiphertextBlob!.length).toBeGreaterThan(0);
    const adminView = await admin.send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob }));
    const dataKey = Buffer.from(adminView.Plaintext!);
    expect(dataKey.length).toBe(32);
    expect(Buffer.from(openCiphertextForRecipient(out.CiphertextForRecipient!, enclaveKey.privateKey))).toEqual(dataKey);

    if (OPENSSL) {
      const cmsFile = join(workDir, 'gdk.cms');
      const keyFile = join(workDir, 'enclave-key.pem');
      const outFile = join(workDir, 'gdk.out');
      await writeFile(cmsFile, out.CiphertextForRecipient!);
      await writeFile(keyFile, enclaveKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      execFileSync('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', cmsFile, '-inkey', keyFile, '-binary', '-out', outFile], { stdio: 'pipe' });
      expect(await readFile(outFile)).toEqual(dataKey);
    }
  });

  it('is denied for a document with another PCR0', async () => {
    const nsm = await simulatedNsm(h.dir, { 0: OTHER_PCR0, 1: PCR1, 2: PCR2 });
    expect((await kmsError(enclave.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient: recipient(await docFrom(nsm)) })))).name).toBe('AccessDeniedException');
  });
});

describe('GenerateRandom with Recipient', () => {
  it('encrypts the random bytes to the document key', async () => {
    const out = await enclave.send(new GenerateRandomCommand({ NumberOfBytes: 64, Recipient: recipient(await docFrom(good)) }));
    expect(out.Plaintext).toBeUndefined();
    expect(openCiphertextForRecipient(out.CiphertextForRecipient!, enclaveKey.privateKey).length).toBe(64);
  });
});

describe('documents that do not verify, under a policy without attestation conditions', () => {
  // The admin: its IAM policy allows kms:* without attestation conditions (the enclave role's
  // deny-unattested IAM policy would answer AccessDeniedException first).
  it('are refused with ValidationException: no Plaintext for a Recipient caller, no CMS to an unverified key', async () => {
    const enclave = admin;
    const open = await admin.send(new CreateKeyCommand({ Description: 'default policy' }));
    const blob = (await admin.send(new EncryptCommand({ KeyId: open.KeyMetadata!.KeyId, Plaintext: Buffer.from('x') }))).CiphertextBlob!;
    const foreign = await simulatedNsm(otherDir, { 0: PCR0, 1: PCR1, 2: PCR2 });
    const err = await kmsError(enclave.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient(await docFrom(foreign)) })));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toContain('ERR_ATTESTATION_CHAIN');
    const stale = await simulatedNsm(h.dir, { 0: PCR0, 1: PCR1, 2: PCR2 }, () => Date.now() - 10 * MINUTE);
    const staleErr = await kmsError(enclave.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient(await docFrom(stale)) })));
    expect(staleErr.name).toBe('ValidationException');
    expect(staleErr.message).toContain('ERR_ATTESTATION_STALE');
    // A debug-mode document verifies (only PCR conditions deny it), so this policy serves it.
    const debug = await simulatedNsm(h.dir, {});
    const debugOut = await enclave.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient(await docFrom(debug)) }));
    expect(Buffer.from(openCiphertextForRecipient(debugOut.CiphertextForRecipient!, enclaveKey.privateKey)).toString()).toBe('x');
    // The same document from the right root works under that policy.
    const ok = await enclave.send(new DecryptCommand({ CiphertextBlob: blob, Recipient: recipient(await docFrom(good)) }));
    expect(Buffer.from(openCiphertextForRecipient(ok.CiphertextForRecipient!, enclaveKey.privateKey)).toString()).toBe('x');
  });
});
