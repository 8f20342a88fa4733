/**
 * FF1 format-preserving encryption, NIST SP 800-38G Rev. 1 (February 2019), §5.1 Algorithms 7
 * (FF1.Encrypt) and 8 (FF1.Decrypt), with AES (128/192/256 by key length) from node:crypto as
 * CIPH and the CBC-MAC PRF of Algorithm 6. Written from the specification; verified against the
 * NIST FF1 samples (test/cards/ff1.test.ts).
 *
 * Domain rules of SP 800-38G Rev. 1 §5.2: radix in [2..2^16], radix^minlen ≥ 1,000,000 and
 * 2 ≤ minlen ≤ n ≤ maxlen < 2^32. We bound maxlen and the tweak length far lower (see
 * FF1_MAX_LENGTH, FF1_MAX_TWEAK_BYTES): enclavekit only encrypts card-number middles.
 *
 * Key material: the key bytes are handed to OpenSSL once (an AES-ECB context used as the raw block
 * cipher CIPH) and no JavaScript copy is kept, so the caller may zero its buffer right after the
 * constructor returns. The expanded key schedule lives inside OpenSSL; `dispose()` finalises the
 * context, which makes Node free it (OpenSSL's AES provider cleanses its context on free). What
 * cannot be zeroed: BigInt and string intermediates (immutable, garbage collected); Buffers we
 * allocate per call are filled with zeros before they are dropped.
 */
import { createCipheriv, type Cipher } from 'node:crypto';

/** Largest numeral-string length accepted (our bound; NIST allows up to 2^32 - 1). */
export const FF1_MAX_LENGTH = 4096;
/** Longest tweak accepted, in bytes (our bound; NIST leaves maxTlen to the implementation). */
export const FF1_MAX_TWEAK_BYTES = 256;

const MIN_DOMAIN = 1_000_000n;
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const BLOCK = 16;
/** radix^v at or below this takes the Number path (#runSmall); 2^32 keeps every product below 2^53. */
const SMALL_HALF_LIMIT = 2 ** 32;

export class Ff1 {
  readonly radix: number;
  /** Smallest n with radix^n ≥ 1,000,000 (SP 800-38G Rev. 1 §5.2), and at least 2. */
  readonly minLength: number;
  readonly #radixBig: bigint;
  #ecb: Cipher | null;
  /** CIPH(P) per (n, t): P is the first CBC-MAC block and depends only on radix, u, n and t. */
  readonly #firstBlock = new Map<string, Buffer>();

  /**
   * @param key AES key, 16, 24 or 32 bytes (not retained: see the file comment).
   * @param radix 2..65536; the string API needs radix ≤ 36.
   */
  constructor(key: Uint8Array, radix = 10) {
    if (!(key instanceof Uint8Array) || ![16, 24, 32].includes(key.length)) {
      throw new RangeError('FF1 key must be 16, 24 or 32 bytes');
    }
    if (!Number.isInteger(radix) || radix < 2 || radix > 65_536) {
      throw new RangeError('FF1 radix must be an integer in [2, 65536]');
    }
    this.radix = radix;
    this.#radixBig = BigInt(radix);
    let minLength = 2;
    while (this.#radixBig ** BigInt(minLength) < MIN_DOMAIN) minLength++;
    this.minLength = minLength;
    // ECB on single blocks is CIPH_K; CBC chaining for the PRF is done by hand (Algorithm 6).
    this.#ecb = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
    this.#ecb.setAutoPadding(false);
  }

  /** Encrypts a numeral string given as digits of this radix ('0'-'9', 'a'-'z'; radix ≤ 36). */
  encrypt(text: string, tweak: Uint8Array): string {
    return this.#toText(this.encryptNumerals(this.#fromText(text), tweak));
  }

  decrypt(text: string, tweak: Uint8Array): string {
    return this.#toText(this.decryptNumerals(this.#fromText(text), tweak));
  }

  /** Algorithm 7, FF1.Encrypt(K, T, X). */
  encryptNumerals(x: readonly number[], tweak: Uint8Array): number[] {
    return this.#run(x, tweak, true);
  }

  /** Algorithm 8, FF1.Decrypt(K, T, X). */
  decryptNumerals(x: readonly number[], tweak: Uint8Array): number[] {
    return this.#run(x, tweak, false);
  }

  /** Finalises the OpenSSL context (freeing its key schedule); later calls throw. */
  dispose(): void {
    if (this.#ecb === null) return;
    this.#ecb.final();
    this.#ecb = null;
    for (const block of this.#firstBlock.values()) block.fill(0);
    this.#firstBlock.clear();
  }

  #run(x: readonly number[], tweak: Uint8Array, encrypt: boolean): number[] {
    const n = x.length;
    if (n < this.minLength || n > FF1_MAX_LENGTH) {
      throw new RangeError(`FF1 input length must be in [${this.minLength}, ${FF1_MAX_LENGTH}] for radix ${this.radix}`);
    }
    if (!(tweak instanceof Uint8Array) || tweak.length > FF1_MAX_TWEAK_BYTES) {
      throw new RangeError(`FF1 tweak must be a Uint8Array of at most ${FF1_MAX_TWEAK_BYTES} bytes`);
    }
    for (const numeral of x) {
      if (!Number.isInteger(numeral) || numeral < 0 || numeral >= this.radix) {
        throw new RangeError('FF1 numeral out of range for the radix');
      }
    }
    const t = tweak.length;
    // Steps 1-2: split; u = ⌊n/2⌋, v = n − u.
    const u = Math.floor(n / 2);
    const v = n - u;
    // Step 3: b = ⌈⌈v·LOG2(radix)⌉ / 8⌉. ⌈v·log2(radix)⌉ equals the bit length of radix^v − 1,
    // computed exactly in BigInt rather than with floating-point logarithms.
    const b = Math.ceil(bitLength(this.#radixBig ** BigInt(v) - 1n) / 8);
    // Step 4: d = 4⌈b/4⌉ + 4.
    const d = 4 * Math.ceil(b / 4) + 4;
    const first = this.#firstBlockFor(n, u, t);
    if (this.radix ** v <= SMALL_HALF_LIMIT) return this.#runSmall(x, tweak, encrypt, u, v, b, d, first);
    const modU = this.#radixBig ** BigInt(u);
    const modV = this.#radixBig ** BigInt(v);
    // Step 6.i: Q = T ‖ [0]^((−t−b−1) mod 16) ‖ [i]^1 ‖ [NUM_radix(B)]^b.
    const pad = mod(-t - b - 1, BLOCK);
    const q = Buffer.alloc(t + pad + 1 + b);
    q.set(tweak, 0);
    const roundIndexAt = t + pad;

    let a = this.#num(x.slice(0, u));
    let bVal = this.#num(x.slice(u));
    try {
      for (let step = 0; step < 10; step++) {
        const i = encrypt ? step : 9 - step;
        q[roundIndexAt] = i;
        // Encryption feeds B to the round function, decryption A (Algorithm 8 step 6.i).
        writeBigEndian(q, roundIndexAt + 1, b, encrypt ? bVal : a);
        const y = this.#roundValue(first, q, d);
        const m = i % 2 === 0 ? modU : modV;
        if (encrypt) {
          // Steps 6.vi-ix: c = (NUM(A) + y) mod radix^m; A = B; B = C.
          const c = mod(a + y, m);
          a = bVal;
          bVal = c;
        } else {
          // Algorithm 8 steps 6.vi-ix: c = (NUM(B) − y) mod radix^m; B = A; A = C.
          const c = mod(bVal - y, m);
          bVal = a;
          a = c;
        }
      }
    } finally {
      q.fill(0);
    }
    // Step 7: A ‖ B, with the final halves of lengths u and v.
    return [...this.#str(a, u), ...this.#str(bVal, v)];
  }

  /**
   * The same algorithm with JavaScript numbers instead of BigInt, for halves below
   * SMALL_HALF_LIMIT (every card-number middle): NUM values stay below 2^32, b ≤ 4, and
   * y mod radix^m is reduced byte by byte, so every intermediate stays below 2^53.
   */
  #runSmall(x: readonly number[], tweak: Uint8Array, encrypt: boolean, u: number, v: number, b: number, d: number, first: Buffer): number[] {
    const t = tweak.length;
    const modU = this.radix ** u;
    const modV = this.radix ** v;
    const pad = mod(-t - b - 1, BLOCK);
    const q = Buffer.alloc(t + pad + 1 + b);
    q.set(tweak, 0);
    const roundIndexAt = t + pad;
    let a = 0;
    for (let i = 0; i < u; i++) a = a * this.radix + x[i]!;
    let bVal = 0;
    for (let i = u; i < x.length; i++) bVal = bVal * this.radix + x[i]!;
    try {
      for (let step = 0; step < 10; step++) {
        const i = encrypt ? step : 9 - step;
        const m = i % 2 === 0 ? modU : modV;
        q[roundIndexAt] = i;
        let num = encrypt ? bVal : a;
        for (let k = b - 1; k >= 0; k--) {
          q[roundIndexAt + 1 + k] = num % 256;
          num = Math.floor(num / 256);
        }
        const y = this.#roundValueMod(first, q, d, m);
        if (encrypt) {
          const c = (a + y) % m;
          a = bVal;
          bVal = c;
        } else {
          const c = mod(bVal - y, m);
          bVal = a;
          a = c;
        }
      }
    } finally {
      q.fill(0);
    }
    const out = new Array<number>(u + v);
    for (let i = u - 1; i >= 0; i--) {
      out[i] = a % this.radix;
      a = Math.floor(a / this.radix);
    }
    for (let i = u + v - 1; i >= u; i--) {
      out[i] = bVal % this.radix;
      bVal = Math.floor(bVal / this.radix);
    }
    return out;
  }

  /** y mod m for the small path: S as in #roundValue, reduced byte by byte (m < 2^32, so acc·256 < 2^40). */
  #roundValueMod(first: Buffer, q: Buffer, d: number, m: number): number {
    const s = this.#prfStream(first, q, d);
    let acc = 0;
    for (let k = 0; k < d; k++) acc = (acc * 256 + s[k]!) % m;
    s.fill(0);
    return acc;
  }

  /** Steps 6.ii-iv: R = PRF(P ‖ Q); S = first d bytes of R ‖ CIPH(R ⊕ [1]^16) ‖ …; y = NUM(S). */
  #roundValue(first: Buffer, q: Buffer, d: number): bigint {
    const s = this.#prfStream(first, q, d);
    const y = BigInt(`0x${s.subarray(0, d).toString('hex')}`);
    s.fill(0);
    return y;
  }

  /** The first d bytes (or more) of S = R ‖ CIPH(R ⊕ [1]^16) ‖ CIPH(R ⊕ [2]^16) ‖ … with R = PRF(P ‖ Q). */
  #prfStream(first: Buffer, q: Buffer, d: number): Buffer {
    // Algorithm 6 (CBC-MAC), resumed after the cached first block CIPH(P).
    let r = first;
    for (let offset = 0; offset < q.length; offset += BLOCK) {
      const x = Buffer.allocUnsafe(BLOCK);
      for (let k = 0; k < BLOCK; k++) x[k] = r[k]! ^ q[offset + k]!;
      const next = this.#ciph(x);
      x.fill(0);
      if (r !== first) r.fill(0);
      r = next;
    }
    if (d <= BLOCK) return r;
    const blocks = Math.ceil(d / BLOCK);
    const s = Buffer.alloc(blocks * BLOCK);
    r.copy(s, 0);
    const tmp = Buffer.alloc(BLOCK);
    for (let j = 1; j < blocks; j++) {
      r.copy(tmp);
      // [j]^16: j as a 16-byte big-endian integer; j < 2^32 here.
      tmp.writeUInt32BE((tmp.readUInt32BE(12) ^ j) >>> 0, 12);
      const block = this.#ciph(tmp);
      block.copy(s, j * BLOCK);
      block.fill(0);
    }
    r.fill(0);
    tmp.fill(0);
    return s;
  }

  /** CIPH_K(P) for P = [1]^1 ‖ [2]^1 ‖ [1]^1 ‖ [radix]^3 ‖ [10]^1 ‖ [u mod 256]^1 ‖ [n]^4 ‖ [t]^4 (step 5). */
  #firstBlockFor(n: number, u: number, t: number): Buffer {
    const cacheKey = `${n}:${t}`;
    const cached = this.#firstBlock.get(cacheKey);
    if (cached !== undefined) return cached;
    const p = Buffer.alloc(BLOCK);
    p[0] = 1;
    p[1] = 2;
    p[2] = 1;
    p.writeUIntBE(this.radix, 3, 3);
    p[6] = 10;
    p[7] = u % 256;
    p.writeUInt32BE(n, 8);
    p.writeUInt32BE(t, 12);
    const block = Buffer.from(this.#ciph(p));
    // Bounded: n ≤ FF1_MAX_LENGTH and t ≤ FF1_MAX_TWEAK_BYTES, and callers use a handful of pairs.
    if (this.#firstBlock.size < 64) this.#firstBlock.set(cacheKey, block);
    return block;
  }

  #ciph(block: Buffer): Buffer {
    if (this.#ecb === null) throw new Error('FF1 instance has been disposed');
    return this.#ecb.update(block);
  }

  /** NUM_radix(X) (§4.5 Algorithm 2). */
  #num(x: readonly number[]): bigint {
    let value = 0n;
    for (const numeral of x) value = value * this.#radixBig + BigInt(numeral);
    return value;
  }

  /** STR^m_radix(x) (§4.5 Algorithm 3): m numerals, most significant first. */
  #str(x: bigint, m: number): number[] {
    const out = new Array<number>(m);
    let rest = x;
    for (let i = m - 1; i >= 0; i--) {
      out[i] = Number(rest % this.#radixBig);
      rest /= this.#radixBig;
    }
    return out;
  }

  #fromText(text: string): number[] {
    if (this.radix > ALPHABET.length) throw new RangeError('FF1 string API needs radix ≤ 36');
    const out = new Array<number>(text.length);
    for (let i = 0; i < text.length; i++) {
      const numeral = ALPHABET.indexOf(text[i]!);
      if (numeral < 0 || numeral >= this.radix) throw new RangeError('FF1 input has a character outside the radix');
      out[i] = numeral;
    }
    return out;
  }

  #toText(numerals: readonly number[]): string {
    let out = '';
    for (const numeral of numerals) out += ALPHABET[numeral]!;
    return out;
  }
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function mod(a: bigint, m: bigint): bigint;
function mod(a: number, m: number): number;
function mod(a: bigint | number, m: bigint | number): bigint | number {
  if (typeof a === 'bigint' && typeof m === 'bigint') {
    const r = a % m;
    return r < 0n ? r + m : r;
  }
  const r = (a as number) % (m as number);
  return r < 0 ? r + (m as number) : r;
}

/** [x]^len: x as a len-byte big-endian integer written at `offset`. */
function writeBigEndian(target: Buffer, offset: number, len: number, x: bigint): void {
  let rest = x;
  for (let i = len - 1; i >= 0; i--) {
    target[offset + i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}
