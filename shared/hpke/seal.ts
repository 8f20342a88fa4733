/**
 * HPKE sealing (RFC 9180 §6.1 single-shot API): Base mode (§5.1.1, anyone may seal) or Auth mode
 * (§5.1.3, the sender's static X25519 key is bound into the key schedule, so only the holder of
 * that private key can produce a message that opens with its public key).
 */
import { hpkeSuite, importPrivateKey, importPublicKey, infoBytes, zeroPrivateKey } from './suite.js';

export interface SealedMessage {
  /** The encapsulated ephemeral public key (Nenc = 32 bytes). */
  enc: Uint8Array;
  /** AES-256-GCM ciphertext with its 16-byte tag. */
  ciphertext: Uint8Array;
}

export interface SealOptions {
  /** The versioned info string of the purpose, e.g. HPKE_INFO.card. */
  info: string;
  /** Additional authenticated data; empty when absent. */
  aad?: Uint8Array;
  /** Raw X25519 private key of the sender: selects Auth mode. Not retained or modified. */
  senderPrivateKey?: Uint8Array;
}

export async function sealHpke(recipientPublicKey: Uint8Array, plaintext: Uint8Array, options: SealOptions): Promise<SealedMessage> {
  if (!(plaintext instanceof Uint8Array)) throw new TypeError('sealHpke: plaintext must be bytes');
  const recipient = await importPublicKey(recipientPublicKey);
  const sender = options.senderPrivateKey === undefined ? undefined : await importPrivateKey(options.senderPrivateKey);
  try {
    const sealed = await hpkeSuite().seal(
      { recipientPublicKey: recipient, info: infoBytes(options.info), ...(sender === undefined ? {} : { senderKey: sender }) },
      plaintext,
      options.aad ?? new Uint8Array(0),
    );
    return { enc: new Uint8Array(sealed.enc), ciphertext: new Uint8Array(sealed.ct) };
  } finally {
    if (sender !== undefined) zeroPrivateKey(sender);
  }
}
