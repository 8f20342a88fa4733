/**
 * The enclave's configuration. In production it is baked into the enclave image, so PCR0/PCR2
 * measure it; at boot its SHA-384 is also extended into PCR16 and PCR16 is locked, so any
 * attestation document (and any key policy that wants to) can pin the exact configuration even
 * when the same image is started with another file (dev). Every field's unit and default is here.
 */
import { z } from 'zod';
import { parseConfigWith } from '../shared/config/parse.js';
import { SECRET_STORES } from '../shared/secrets/sealed-secret.js';
import { KMS_KEY_ARN } from '../shared/aws/kms-key-arn.js';

const positiveInt = z.number().int().positive();
const kmsKeyArn = z.string().regex(KMS_KEY_ARN);
/** Parameter Store names (1..2048 characters) and Secrets Manager names (1..512) share this bound. */
const storeItemName = z.string().min(1).max(2048).regex(/^[A-Za-z0-9_.\-/+=@]+$/, 'must be a parameter or secret name (letters, digits and _.-/+=@)');
/** A raw X25519 public key in base64: checked here so a bad key stops the boot, not every request. */
const x25519PublicKey = z.base64().refine((b64) => Buffer.from(b64, 'base64').length === 32, 'must be a 32-byte X25519 public key (base64)');

export const enclaveConfigSchema = z.strictObject({
  /** Where the parent connects to the enclave's message API. Default: vsock, any CID, port 5005. */
  listen: z.string().default('vsock://4294967295:5005'),
  /** The parent's tunnel proxy for KMS connections. Default: vsock CID 3 (the parent), port 5006 (not 8000: AWS's vsock-proxy default). */
  proxy: z.string().default('vsock://3:5006'),
  /**
   * The NSM: `device:/dev/nsm` in a real enclave; `sim+unix:///path` reaches a simulator process
   * (dev and CI only; announced loudly at boot).
   */
  nsm: z.string().regex(/^(device:\/.+|sim\+unix:\/\/\/.+)$/).default('device:/dev/nsm'),
  kms: z.strictObject({
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/),
    /** Default: https://kms.<region>.amazonaws.com */
    endpoint: z.url().optional(),
    /** PEM file of an extra trust anchor for the KMS endpoint (the simulator's CA). */
    caFile: z.string().optional(),
    /** SDK attempts per KMS call, including retries with jittered backoff (throttling). */
    maxAttempts: z.number().int().min(1).max(10).default(6),
    /** Per-attempt timeout for a KMS HTTP request, ms. */
    requestTimeoutMs: positiveInt.default(5_000),
  }),
  /** Data-key cache (enclave/kms/data-key-cache.ts); defaults there. */
  cache: z
    .strictObject({ maxAgeMs: positiveInt, maxMessages: positiveInt, maxBytes: positiveInt, capacity: positiveInt })
    .partial()
    .default({}),
  /**
   * The long-lived keys the parent hands over wrapped (`keys.load`), pinned here because the parent
   * must not choose them: each names the KMS key ARN and the encryption context its data key was
   * generated with (GenerateDataKeyWithoutPlaintext). The enclave decrypts only under exactly these,
   * requires KMS to answer with that key, accepts 32-byte keys only, and never replaces a loaded key
   * with different bytes (tokens would silently change). docs/security.md, "Wrapped keys".
   */
  keys: z
    .partialRecord(
      z.enum(['tokenization', 'blind-index']),
      z.strictObject({
        keyId: kmsKeyArn,
        encryptionContext: z.record(z.string(), z.string()),
        /**
         * Required: SHA-256 (hex) of the exact wrapped blob. Without it the parent may hand over any
         * other data key made under the same key and context, including one whose plaintext its
         * maker kept (every token would then be reversible offline): boot refuses a key without a pin.
         */
        ciphertextSha256: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .default({}),
  /**
   * Refuse to start when the NSM reports debug-mode PCRs (all-zero PCR0-2)? Default true: the parent
   * can read a debug-mode enclave's memory and console. Set false only to debug, never with real data.
   */
  refuseDebugMode: z.boolean().default(true),
  /**
   * Worker threads for the built-in card and PII operations' CPU work (enclave/workers/pool.ts).
   * Absent: one per vCPU the enclave was given (os.availableParallelism()), at most 16; 0: no pool,
   * everything on the main thread. The main thread keeps the link, KMS and the rate limiter.
   */
  workers: z.number().int().min(0).max(16).optional(),
  /** The card and PII API (docs/api.md). Absent: those operations answer ERR_NOT_READY. */
  cards: z
    .strictObject({
      /** KMS key ARN whose encrypted data keys mark an ESDK message as from an authorised producer. */
      cardKeyArn: kmsKeyArn,
      /**
       * The KMS RSA key (ENCRYPT_DECRYPT) offline producers seal `kmsRsa` inputs to, pinned by ARN and
       * by SHA-256 (hex) of its SubjectPublicKeyInfo (DER, from GetPublicKey), the key id every input
       * carries. Absent: kmsRsa inputs are refused.
       */
      rsaKey: z
        .strictObject({
          keyArn: kmsKeyArn,
          publicKeySha256: z.string().regex(/^[0-9a-f]{64}$/),
        })
        .optional(),
      /** HPKE Auth-mode producers: base64 raw X25519 public keys (at most 64). */
      hpkeSenders: z.array(x25519PublicKey).max(64).default([]),
      /** Base-mode (anonymous) HPKE submission, rate limited in the enclave. Off by default. */
      publicSubmission: z
        .strictObject({
          enabled: z.boolean().default(false),
          /** Per (BIN, last 4): burst and refill per hour. */
          perCardBurst: z.number().int().positive().default(5),
          perCardPerHour: z.number().positive().default(5),
          /** All anonymous submissions: burst and refill per second. */
          overallBurst: z.number().int().positive().default(200),
          overallPerSecond: z.number().positive().default(50),
        })
        .prefault({}),
      /** Third parties a PAN may be re-encrypted to (detokenize-to): name → base64 X25519 key. */
      detokenizeRecipients: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/), x25519PublicKey).default({}),
      /** Default phone country code for blind-index normalisation (E.164). */
      phoneCountryCode: z.string().regex(/^\d{1,3}$/).default('1'),
    })
    .optional(),
  /**
   * Sealed secrets (docs/secrets.md "Sealed secrets in the enclave"): values kept in Parameter
   * Store or Secrets Manager as KMS ciphertext under the internal key, fetched through the tunnel
   * at boot and every `pollIntervalMs`, opened only here. Region, CA file, credentials and the
   * tunnel are those of `kms`. Absent: no secrets, `services.secrets` knows no names.
   */
  secrets: z
    .strictObject({
      /** The internal KMS key the secrets are encrypted under (never cards.cardKeyArn). */
      keyArn: kmsKeyArn,
      /** Default endpoint: https://ssm.<kms.region>.amazonaws.com */
      ssm: z.strictObject({ endpoint: z.url().optional() }).default({}),
      /** Default endpoint: https://secretsmanager.<kms.region>.amazonaws.com */
      secretsManager: z.strictObject({ endpoint: z.url().optional() }).default({}),
      /** How often the stores are read for new versions, ms. */
      pollIntervalMs: z.number().int().min(1_000).default(60_000),
      /** How long a replaced version keeps working after it was replaced, ms (then zeroed). */
      retireAfterMs: z.number().int().min(0).default(86_400_000),
      /** Not ready while a secret has gone longer than this without a successful read, ms (absent: no limit). */
      maxStaleMs: z.number().int().min(1_000).optional(),
      /** The secrets to load: 1..32, each name once. */
      items: z
        .array(z.strictObject({ store: z.enum(SECRET_STORES), name: storeItemName }))
        .min(1)
        .max(32)
        .refine((items) => new Set(items.map((i) => i.name)).size === items.length, 'must not name a secret twice (handlers ask for secrets by name)'),
    })
    .optional(),
});

/**
 * The enclave's own keys must not live under the card key: producers may GenerateDataKey under it,
 * so a wrapped key there could be one whose plaintext a producer kept (docs/security.md "Two kinds
 * of KMS key").
 */
const enclaveConfigChecked = enclaveConfigSchema.superRefine((config, ctx) => {
  const cardKeyArn = config.cards?.cardKeyArn;
  for (const [name, pin] of Object.entries(config.keys)) {
    if (pin !== undefined && pin.keyId === cardKeyArn) {
      ctx.addIssue({ code: 'custom', path: ['keys', name, 'keyId'], message: 'must be the internal key, not cards.cardKeyArn (producers can make data keys under the card key)' });
    }
  }
  // A limit under one poll interval would make a healthy enclave unready between two polls.
  if (config.secrets?.maxStaleMs !== undefined && config.secrets.maxStaleMs <= config.secrets.pollIntervalMs) {
    ctx.addIssue({ code: 'custom', path: ['secrets', 'maxStaleMs'], message: 'must be more than secrets.pollIntervalMs' });
  }
  if (config.secrets !== undefined && config.secrets.keyArn === cardKeyArn) {
    ctx.addIssue({ code: 'custom', path: ['secrets', 'keyArn'], message: 'must be the internal key, not cards.cardKeyArn (producers can encrypt under the card key)' });
  }
});

export type EnclaveConfig = z.infer<typeof enclaveConfigSchema>;

export function parseEnclaveConfig(raw: unknown): Readonly<EnclaveConfig> {
  return parseConfigWith(enclaveConfigChecked, raw, 'enclave config');
}

export function kmsEndpointOf(config: Pick<EnclaveConfig, 'kms'>): URL {
  return new URL(config.kms.endpoint ?? `https://kms.${config.kms.region}.amazonaws.com`);
}

export function ssmEndpointOf(config: Pick<EnclaveConfig, 'kms' | 'secrets'>): URL {
  return new URL(config.secrets?.ssm.endpoint ?? `https://ssm.${config.kms.region}.amazonaws.com`);
}

export function secretsManagerEndpointOf(config: Pick<EnclaveConfig, 'kms' | 'secrets'>): URL {
  return new URL(config.secrets?.secretsManager.endpoint ?? `https://secretsmanager.${config.kms.region}.amazonaws.com`);
}
