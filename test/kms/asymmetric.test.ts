/**
 * Asymmetric (RSA, ECC) and HMAC keys in the KMS simulator, driven with the unmodified
 * @aws-sdk/client-kms and checked by OpenSSL: simulator signatures verify with `openssl dgst`,
 * data OpenSSL encrypts to the GetPublicKey key decrypts in the simulator to the same bytes, and
 * GenerateDataKeyPair's private key matches its public key. Rotation is refused for these keys.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateMacCommand,
  GetKeyRotationStatusCommand,
  GetPublicKeyCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
  RotateKeyOnDemandCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  type KeySpec,
  type KMSClient,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { openCiphertextForRecipient } from '../../enclave/kms/recipient-cms.js';
import { enclaveKeyPair, kmsError, simulatedNsm, startHarness, type Harness } from './harness.js';
import { OPENSSL_AVAILABLE } from '../helpers/openssl.js';

let h: Harness;
let admin: KMSClient;
let work: string;

const OPENSSL = OPENSSL_AVAILABLE;
if (!OPENSSL) console.warn('openssl not found: the OpenSSL interop tests are skipped');

beforeAll(async () => {
  h = await startHarness();
  admin = h.client('admin');
  work = await mkdtemp(join(tmpdir(), 'ek-kms-asym-'));
});
afterAll(async () => {
  await h.close();
  await rm(work, { recursive: true, force: true });
});

async function createKey(KeySpec: KeySpec, KeyUsage: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC'): Promise<string> {
  return (await admin.send(new CreateKeyCommand({ KeySpec, KeyUsage }))).KeyMetadata!.Arn!;
}

async function publicKeyPem(keyId: string, name: string): Promise<string> {
  const out = await admin.send(new GetPublicKeyCommand({ KeyId: keyId }));
  const pem = createPublicKey({ key: Buffer.from(out.PublicKey!), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }) as string;
  const path = join(work, `${name}.pub.pem`);
  await writeFile(path, pem);
  return path;
}

/** `openssl dgst -verify`: exit status 0 and "Verified OK" only for a good signature. */
async function opensslVerifies(pubPath: string, hash: string, message: Uint8Array, signature: Uint8Array, sigopts: string[], name: string): Promise<boolean> {
  const msg = join(work, `${name}.msg`);
  const sig = join(work, `${name}.sig`);
  await writeFile(msg, message);
  await writeFile(sig, signature);
  try {
    const out = execFileSync('openssl', ['dgst', `-${hash}`, '-verify', pubPath, '-signature', sig, ...sigopts.flatMap((o) => ['-sigopt', o]), msg]);
    return out.toString().includes('Verified OK');
  } catch {
    return false;
  }
}

describe('RSA encryption keys', () => {
  for (const spec of ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const) {
    it.skipIf(!OPENSSL)(`${spec}: OpenSSL-encrypted data decrypts in the simulator to the same bytes (OAEP SHA-1 and SHA-256)`, async () => {
      const keyId = await createKey(spec, 'ENCRYPT_DECRYPT');
      const described = (await admin.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
      expect(described.KeySpec).toBe(spec);
      expect(described.EncryptionAlgorithms).toEqual(['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
      const pub = await publicKeyPem(keyId, spec);
      const plaintext = Buffer.from(`secret for ${spec}`);
      const input = join(work, `${spec}.in`);
      await writeFile(input, plaintext);
      for (const [algorithm, md] of [['RSAES_OAEP_SHA_256', 'sha256'], ['RSAES_OAEP_SHA_1', 'sha1']] as const) {
        const out = join(work, `${spec}-${md}.enc`);
        execFileSync('openssl', ['pkeyutl', '-encrypt', '-pubin', '-inkey', pub, '-in', input, '-out', out,
          '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${md}`, '-pkeyopt', `rsa_mgf1_md:${md}`]);
        const ciphertext = await readFile(out);
        const dec = await admin.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: ciphertext, EncryptionAlgorithm: algorithm }));
        expect(Buffer.from(dec.Plaintext!)).toEqual(plaintext);
        expect(dec.EncryptionAlgorithm).toBe(algorithm);
        // The other OAEP hash does not open it, and neither does a call without KeyId.
        const other = algorithm === 'RSAES_OAEP_SHA_256' ? 'RSAES_OAEP_SHA_1' : 'RSAES_OAEP_SHA_256';
        expect((await kmsError(admin.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: ciphertext, EncryptionAlgorithm: other })))).name).toBe('InvalidCiphertextException');
        expect((await kmsError(admin.send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionAlgorithm: algorithm })))).name).toBe('InvalidCiphertextException');
      }
    });
  }

  it('round-trips Encrypt/Decrypt, enforces the OAEP plaintext limit, and refuses symmetric usage', async () => {
    const keyId = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    const enc = await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(190, 7), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(enc.CiphertextBlob!.length).toBe(256);
    const dec = await admin.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(Buffer.from(dec.Plaintext!)).toEqual(Buffer.alloc(190, 7));
    expect((await kmsError(admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(191), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).name).toBe('ValidationException');
    expect((await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(214), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }))).CiphertextBlob!.length).toBe(256);
    expect((await kmsError(admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })))).name).toBe('InvalidKeyUsageException');
    expect((await kmsError(admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: { a: 'b' } })))).name).toBe('InvalidKeyUsageException');
    expect((await kmsError(admin.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })))).name).toBe('InvalidKeyUsageException');
    expect((await kmsError(admin.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })))).name).toBe('InvalidKeyUsageException');
  });

  it('Decrypt with a Recipient answers CiphertextForRecipient to the attested key, and no Plaintext', async () => {
    const keyId = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    const enc = await admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('for the enclave'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    const enclave = enclaveKeyPair();
    const nsm = await simulatedNsm(h.dir, { 0: 'a1'.repeat(48), 1: 'c3'.repeat(48), 2: 'd4'.repeat(48) });
    const doc = await nsm.attest({ publicKey: enclave.spki });
    const out = await admin.send(new DecryptCommand({
      KeyId: keyId, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: doc },
    }));
    expect(out.Plaintext).toBeUndefined();
    expect(Buffer.from(openCiphertextForRecipient(out.CiphertextForRecipient!, enclave.privateKey)).toString()).toBe('for the enclave');
  });
});

describe('signing keys', () => {
  const RSA_ALGORITHMS: [SigningAlgorithmSpec, string, string[]][] = [
    ['RSASSA_PSS_SHA_256', 'sha256', ['rsa_padding_mode:pss', 'rsa_pss_saltlen:32']],
    ['RSASSA_PSS_SHA_384', 'sha384', ['rsa_padding_mode:pss', 'rsa_pss_saltlen:48']],
    ['RSASSA_PSS_SHA_512', 'sha512', ['rsa_padding_mode:pss', 'rsa_pss_saltlen:64']],
    ['RSASSA_PKCS1_V1_5_SHA_256', 'sha256', []],
    ['RSASSA_PKCS1_V1_5_SHA_384', 'sha384', []],
    ['RSASSA_PKCS1_V1_5_SHA_512', 'sha512', []],
  ];

  for (const spec of ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const) {
    it.skipIf(!OPENSSL)(`${spec}: every RSASSA algorithm verifies with OpenSSL and in the simulator; a changed message does not`, async () => {
      const keyId = await createKey(spec, 'SIGN_VERIFY');
      const pub = await publicKeyPem(keyId, `${spec}-sign`);
      const message = Buffer.from(`message signed by ${spec}`);
      for (const [algorithm, hash, sigopts] of RSA_ALGORITHMS) {
        const { Signature } = await admin.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: algorithm }));
        expect(await opensslVerifies(pub, hash, message, Signature!, sigopts, `${spec}-${algorithm}`)).toBe(true);
        expect(await opensslVerifies(pub, hash, Buffer.from('another message'), Signature!, sigopts, `${spec}-${algorithm}-bad`)).toBe(false);
        expect((await admin.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature, SigningAlgorithm: algorithm }))).SignatureValid).toBe(true);
        const bad = await kmsError(admin.send(new VerifyCommand({ KeyId: keyId, Message: Buffer.from('another message'), Signature, SigningAlgorithm: algorithm })));
        expect(bad.name).toBe('KMSInvalidSignatureException');
      }
    });
  }

  it.skipIf(!OPENSSL)('RSASSA over a precomputed DIGEST verifies with OpenSSL over the message, and as DIGEST in the simulator', async () => {
    const keyId = await createKey('RSA_2048', 'SIGN_VERIFY');
    const pub = await publicKeyPem(keyId, 'rsa-digest');
    const message = Buffer.from('digest me');
    const digest = createHash('sha384').update(message).digest();
    for (const [algorithm, sigopts] of [['RSASSA_PKCS1_V1_5_SHA_384', []], ['RSASSA_PSS_SHA_384', ['rsa_padding_mode:pss', 'rsa_pss_saltlen:48']]] as const) {
      const { Signature } = await admin.send(new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: algorithm }));
      expect(await opensslVerifies(pub, 'sha384', message, Signature!, [...sigopts], `rsa-digest-${algorithm}`)).toBe(true);
      expect((await admin.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature, SigningAlgorithm: algorithm }))).SignatureValid).toBe(true);
      expect((await admin.send(new VerifyCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', Signature, SigningAlgorithm: algorithm }))).SignatureValid).toBe(true);
      const otherDigest = createHash('sha384').update('other').digest();
      expect((await kmsError(admin.send(new VerifyCommand({ KeyId: keyId, Message: otherDigest, MessageType: 'DIGEST', Signature, SigningAlgorithm: algorithm })))).name).toBe('KMSInvalidSignatureException');
    }
    // A RAW PSS signature verifies as DIGEST of the same message.
    const raw = await admin.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_384' }));
    expect((await admin.send(new VerifyCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', Signature: raw.Signature, SigningAlgorithm: 'RSASSA_PSS_SHA_384' }))).SignatureValid).toBe(true);
    const short = await kmsError(admin.send(new SignCommand({ KeyId: keyId, Message: digest.subarray(0, 32), MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_384' })));
    expect(short.name).toBe('ValidationException');
  });

  const CURVES: [KeySpec, SigningAlgorithmSpec, string, string][] = [
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'sha256', 'prime256v1'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384', 'secp384r1'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', 'sha512', 'secp521r1'],
    ['ECC_SECG_P256K1', 'ECDSA_SHA_256', 'sha256', 'secp256k1'],
  ];
  for (const [spec, algorithm, hash, curve] of CURVES) {
    it.skipIf(!OPENSSL)(`${spec}: ECDSA signatures (DER) verify with OpenSSL on ${curve}`, async () => {
      const keyId = await createKey(spec, 'SIGN_VERIFY');
      const described = (await admin.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
      expect(described.SigningAlgorithms).toEqual([algorithm]);
      const pubOut = await admin.send(new GetPublicKeyCommand({ KeyId: keyId }));
      expect(createPublicKey({ key: Buffer.from(pubOut.PublicKey!), format: 'der', type: 'spki' }).asymmetricKeyDetails?.namedCurve).toBe(curve);
      const pub = await publicKeyPem(keyId, spec);
      const message = Buffer.from(`message for ${spec}`);
      const { Signature } = await admin.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: algorithm }));
      expect(await opensslVerifies(pub, hash, message, Signature!, [], spec)).toBe(true);
      expect((await admin.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature, SigningAlgorithm: algorithm }))).SignatureValid).toBe(true);
      const tampered = Buffer.from(Signature!);
      tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 1, tampered.length - 1);
      expect((await kmsError(admin.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature: tampered, SigningAlgorithm: algorithm })))).name).toBe('KMSInvalidSignatureException');
      const wrongAlgorithm = await kmsError(admin.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })));
      expect(wrongAlgorithm.name).toBe('InvalidKeyUsageException');
      // DIGEST: the signature over a precomputed digest verifies with OpenSSL over the message, the
      // RAW signature verifies as DIGEST in the simulator, and another digest does not.
      const digest = createHash(hash).update(message).digest();
      const overDigest = await admin.send(new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: algorithm }));
      expect(await opensslVerifies(pub, hash, message, overDigest.Signature!, [], `${spec}-digest`)).toBe(true);
      expect((await admin.send(new VerifyCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', Signature, SigningAlgorithm: algorithm }))).SignatureValid).toBe(true);
      const otherDigest = createHash(hash).update('other').digest();
      expect((await kmsError(admin.send(new VerifyCommand({ KeyId: keyId, Message: otherDigest, MessageType: 'DIGEST', Signature, SigningAlgorithm: algorithm })))).name).toBe('KMSInvalidSignatureException');
    });
  }

  it('refuses an ECC key for encryption, and GetPublicKey of a symmetric key', async () => {
    expect((await kmsError(admin.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256' })))).name).toBe('ValidationException');
    const symmetric = (await admin.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    expect((await kmsError(admin.send(new GetPublicKeyCommand({ KeyId: symmetric })))).name).toBe('UnsupportedOperationException');
  });
});

describe('HMAC keys', () => {
  const SPECS: [KeySpec, 'HMAC_SHA_224' | 'HMAC_SHA_256' | 'HMAC_SHA_384' | 'HMAC_SHA_512', number][] = [
    ['HMAC_224', 'HMAC_SHA_224', 28], ['HMAC_256', 'HMAC_SHA_256', 32], ['HMAC_384', 'HMAC_SHA_384', 48], ['HMAC_512', 'HMAC_SHA_512', 64],
  ];
  for (const [spec, algorithm, length] of SPECS) {
    it(`${spec}: GenerateMac/VerifyMac with ${algorithm}; a changed message or MAC fails`, async () => {
      const keyId = await createKey(spec, 'GENERATE_VERIFY_MAC');
      expect((await admin.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.MacAlgorithms).toEqual([algorithm]);
      const message = Buffer.from('mac me');
      const { Mac } = await admin.send(new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: algorithm }));
      expect(Mac!.length).toBe(length);
      // Deterministic: the same key and message give the same MAC.
      expect(Buffer.from((await admin.send(new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: algorithm }))).Mac!)).toEqual(Buffer.from(Mac!));
      expect((await admin.send(new VerifyMacCommand({ KeyId: keyId, Message: message, Mac, MacAlgorithm: algorithm }))).MacValid).toBe(true);
      expect((await kmsError(admin.send(new VerifyMacCommand({ KeyId: keyId, Message: Buffer.from('mac mE'), Mac, MacAlgorithm: algorithm })))).name).toBe('KMSInvalidMacException');
      const wrong = algorithm === 'HMAC_SHA_256' ? 'HMAC_SHA_384' : 'HMAC_SHA_256';
      expect((await kmsError(admin.send(new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: wrong })))).name).toBe('InvalidKeyUsageException');
      expect((await kmsError(admin.send(new EncryptCommand({ KeyId: keyId, Plaintext: message })))).name).toBe('InvalidKeyUsageException');
    });
  }
});

describe('GenerateDataKeyPair', () => {
  it.skipIf(!OPENSSL)('returns a PKCS #8 private key that OpenSSL reads and that matches PublicKey; the blob decrypts to it', async () => {
    const keyId = (await admin.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    for (const spec of ['RSA_2048', 'ECC_NIST_P256', 'ECC_SECG_P256K1'] as const) {
      const out = await admin.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: spec, EncryptionContext: { purpose: 'pair' } }));
      expect(out.KeyPairSpec).toBe(spec);
      const der = join(work, `pair-${spec}.der`);
      await writeFile(der, out.PrivateKeyPlaintext!);
      const opensslPub = execFileSync('openssl', ['pkey', '-inform', 'DER', '-in', der, '-pubout', '-outform', 'DER']);
      expect(Buffer.from(opensslPub)).toEqual(Buffer.from(out.PublicKey!));
      const dec = await admin.send(new DecryptCommand({ CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: { purpose: 'pair' } }));
      expect(Buffer.from(dec.Plaintext!)).toEqual(Buffer.from(out.PrivateKeyPlaintext!));
    }
  });

  it('WithoutPlaintext returns no private key; with a Recipient the private key comes only as CiphertextForRecipient', async () => {
    const keyId = (await admin.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const without = await admin.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P384' }));
    expect(Object.keys(without)).not.toContain('PrivateKeyPlaintext');
    expect(without.PrivateKeyCiphertextBlob!.length).toBeGreaterThan(0);
    const opened = await admin.send(new DecryptCommand({ CiphertextBlob: without.PrivateKeyCiphertextBlob }));
    expect(createPublicKey(createPrivateKey({ key: Buffer.from(opened.Plaintext!), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' }))
      .toEqual(Buffer.from(without.PublicKey!));

    const enclave = enclaveKeyPair();
    const nsm = await simulatedNsm(h.dir, { 0: 'a1'.repeat(48), 1: 'c3'.repeat(48), 2: 'd4'.repeat(48) });
    const doc = await nsm.attest({ publicKey: enclave.spki });
    const out = await admin.send(new GenerateDataKeyPairCommand({
      KeyId: keyId, KeyPairSpec: 'RSA_2048', Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: doc },
    }));
    expect(out.PrivateKeyPlaintext).toBeUndefined();
    const privateKey = Buffer.from(openCiphertextForRecipient(out.CiphertextForRecipient!, enclave.privateKey));
    expect(createPublicKey(createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' })).toEqual(Buffer.from(out.PublicKey!));

    const rsa = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    expect((await kmsError(admin.send(new GenerateDataKeyPairCommand({ KeyId: rsa, KeyPairSpec: 'RSA_2048' })))).name).toBe('InvalidKeyUsageException');
  });
});

describe('state files', () => {
  it('keep asymmetric and HMAC key material, grants and tags: a simulator started on the same state uses them', async () => {
    const rsa = await createKey('RSA_2048', 'SIGN_VERIFY');
    const hmac = await createKey('HMAC_384', 'GENERATE_VERIFY_MAC');
    const sym = (await admin.send(new CreateKeyCommand({ Tags: [{ TagKey: 'k', TagValue: 'v' }] }))).KeyMetadata!.Arn!;
    const grant = await admin.send(new CreateGrantCommand({ KeyId: sym, GranteePrincipal: h.principal('client').arn, Operations: ['Decrypt'] }));
    const message = Buffer.from('persisted');
    const { Signature } = await admin.send(new SignCommand({ KeyId: rsa, Message: message, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }));
    const { Mac } = await admin.send(new GenerateMacCommand({ KeyId: hmac, Message: message, MacAlgorithm: 'HMAC_SHA_384' }));
    const second = await startHarness({}, h.dir);
    try {
      const a = second.client('admin');
      expect((await a.send(new VerifyCommand({ KeyId: rsa, Message: message, Signature, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }))).SignatureValid).toBe(true);
      expect((await a.send(new VerifyMacCommand({ KeyId: hmac, Message: message, Mac, MacAlgorithm: 'HMAC_SHA_384' }))).MacValid).toBe(true);
      expect((await a.send(new ListResourceTagsCommand({ KeyId: sym }))).Tags).toEqual([{ TagKey: 'k', TagValue: 'v' }]);
      expect((await a.send(new ListGrantsCommand({ KeyId: sym }))).Grants!.map((g) => g.GrantId)).toEqual([grant.GrantId]);
    } finally {
      await second.close();
    }
  });
});

describe('rotation', () => {
  it('is refused for asymmetric and HMAC keys, as KMS refuses it', async () => {
    for (const [spec, usage] of [['RSA_2048', 'SIGN_VERIFY'], ['ECC_NIST_P256', 'SIGN_VERIFY'], ['HMAC_256', 'GENERATE_VERIFY_MAC']] as const) {
      const keyId = await createKey(spec, usage);
      expect((await kmsError(admin.send(new EnableKeyRotationCommand({ KeyId: keyId })))).name).toBe('UnsupportedOperationException');
      expect((await kmsError(admin.send(new RotateKeyOnDemandCommand({ KeyId: keyId })))).name).toBe('UnsupportedOperationException');
      expect((await kmsError(admin.send(new GetKeyRotationStatusCommand({ KeyId: keyId })))).name).toBe('UnsupportedOperationException');
    }
  });
});
