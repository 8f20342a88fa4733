/**
 * ECDSA over a digest the caller computed (KMS Sign/Verify with MessageType DIGEST): Node's OpenSSL
 * binding hashes the message itself, so this signs and verifies with the curve arithmetic written
 * out (SEC 1 v2 §4.1.3 and §4.1.4; FIPS 186-5 §6.4), BigInt in Jacobian coordinates. Signatures are
 * DER `ECDSA-Sig-Value` as KMS returns them. Not constant-time: simulator keys only.
 *
 * Curve parameters: SEC 2 v2 (secp256r1 = NIST P-256, secp384r1, secp521r1, secp256k1).
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';

interface Curve {
  p: bigint;
  a: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
}

const h = (hex: string): bigint => BigInt(`0x${hex.replace(/\s+/g, '')}`);

const CURVES: Readonly<Record<string, Curve>> = {
  prime256v1: {
    p: h('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff'),
    a: h('ffffffff00000001000000000000000000000000fffffffffffffffffffffffc'),
    n: h('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
    gx: h('6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296'),
    gy: h('4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5'),
  },
  secp384r1: {
    p: h('fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff'),
    a: h('fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc'),
    n: h('ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
    gx: h('aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7'),
    gy: h('3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f'),
  },
  secp521r1: {
    p: (1n << 521n) - 1n,
    a: (1n << 521n) - 4n,
    n: h(`01ff ${'ffffffff '.repeat(7)}fffffffa 51868783 bf2f966b 7fcc0148 f709a5d0 3bb5c9b8 899c47ae bb6fb71e 91386409`),
    gx: h(`00c6 858e06b7 0404e9cd 9e3ecb66 2395b442 9c648139 053fb521 f828af60 6b4d3dba a14b5e77 efe75928 fe1dc127
      a2ffa8de 3348b3c1 856a429b f97e7e31 c2e5bd66`),
    gy: h(`0118 39296a78 9a3bc004 5c8a5fb4 2c7d1bd9 98f54449 579b4468 17afbd17 273e662c 97ee7299 5ef42640 c550b901
      3fad0761 353c7086 a272c240 88be9476 9fd16650`),
  },
  secp256k1: {
    p: h('fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f'),
    a: 0n,
    n: h('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'),
    gx: h('79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'),
    gy: h('483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8'),
  },
};

type Jacobian = [bigint, bigint, bigint];

const mod = (x: bigint, m: bigint): bigint => ((x % m) + m) % m;

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

/** p and n are prime: Fermat inverse. */
const inv = (x: bigint, m: bigint): bigint => modPow(x, m - 2n, m);

function double(c: Curve, [x, y, z]: Jacobian): Jacobian {
  if (y === 0n || z === 0n) return [0n, 1n, 0n];
  const yy = (y * y) % c.p;
  const s = (4n * x * yy) % c.p;
  const z2 = (z * z) % c.p;
  const m = mod(3n * x * x + c.a * z2 * z2, c.p);
  const x3 = mod(m * m - 2n * s, c.p);
  return [x3, mod(m * (s - x3) - 8n * yy * yy, c.p), (2n * y * z) % c.p];
}

function add(c: Curve, p1: Jacobian, p2: Jacobian): Jacobian {
  if (p1[2] === 0n) return p2;
  if (p2[2] === 0n) return p1;
  const [x1, y1, z1] = p1;
  const [x2, y2, z2] = p2;
  const z1z1 = (z1 * z1) % c.p;
  const z2z2 = (z2 * z2) % c.p;
  const u1 = (x1 * z2z2) % c.p;
  const u2 = (x2 * z1z1) % c.p;
  const s1 = (y1 * z2 * z2z2) % c.p;
  const s2 = (y2 * z1 * z1z1) % c.p;
  if (u1 === u2) return s1 === s2 ? double(c, p1) : [0n, 1n, 0n];
  const hh = mod(u2 - u1, c.p);
  const r = mod(s2 - s1, c.p);
  const h2 = (hh * hh) % c.p;
  const h3 = (h2 * hh) % c.p;
  const x3 = mod(r * r - h3 - 2n * u1 * h2, c.p);
  return [x3, mod(r * (u1 * h2 - x3) - s1 * h3, c.p), (hh * z1 * z2) % c.p];
}

function multiply(c: Curve, k: bigint, point: Jacobian): Jacobian {
  let result: Jacobian = [0n, 1n, 0n];
  for (let i = BigInt(k.toString(2).length - 1); i >= 0n; i--) {
    result = double(c, result);
    if ((k >> i) & 1n) result = add(c, result, point);
  }
  return result;
}

function affineX(c: Curve, [x, , z]: Jacobian): bigint | null {
  if (z === 0n) return null;
  return (x * inv((z * z) % c.p, c.p)) % c.p;
}

/** The leftmost bits of the digest, as many as n has (SEC 1 §4.1.3 step 5). */
function digestInteger(c: Curve, digest: Uint8Array): bigint {
  const value = BigInt(`0x${Buffer.from(digest).toString('hex') || '0'}`);
  const excess = digest.length * 8 - c.n.toString(2).length;
  return excess > 0 ? value >> BigInt(excess) : value;
}

const b64u = (value: string | undefined): bigint => BigInt(`0x${Buffer.from(value ?? '', 'base64url').toString('hex') || '0'}`);

function curveOf(key: KeyObject): Curve {
  const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (curve === undefined) throw new RangeError('not a supported EC key');
  return curve;
}

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.of(0), bytes]);
  return Buffer.concat([Buffer.of(0x02), derLength(bytes.length), bytes]);
}

function derLength(length: number): Buffer {
  return length < 0x80 ? Buffer.of(length) : Buffer.of(0x81, length);
}

/** (r, s) of a DER ECDSA-Sig-Value, or null when it is not one. */
function parseDerSignature(der: Uint8Array): { r: bigint; s: bigint } | null {
  const b = Buffer.from(der);
  let at = 0;
  const length = (): number | null => {
    const first = b[at++];
    if (first === undefined) return null;
    if (first < 0x80) return first;
    if (first !== 0x81) return null;
    const next = b[at++];
    return next === undefined ? null : next;
  };
  if (b[at++] !== 0x30) return null;
  const total = length();
  if (total === null || at + total !== b.length) return null;
  const ints: bigint[] = [];
  for (let i = 0; i < 2; i++) {
    if (b[at++] !== 0x02) return null;
    const len = length();
    if (len === null || len === 0 || at + len > b.length) return null;
    ints.push(BigInt(`0x${b.subarray(at, at + len).toString('hex')}`));
    at += len;
  }
  return at === b.length ? { r: ints[0]!, s: ints[1]! } : null;
}

export function ecdsaSignDigest(privateKey: KeyObject, digest: Uint8Array): Buffer {
  const c = curveOf(privateKey);
  const d = b64u(privateKey.export({ format: 'jwk' }).d);
  const z = digestInteger(c, digest);
  const g: Jacobian = [c.gx, c.gy, 1n];
  const nBytes = Math.ceil(c.n.toString(2).length / 8) + 8;
  for (;;) {
    // k uniform enough: 64 extra bits before the reduction (FIPS 186-5 A.3.1).
    const k = (BigInt(`0x${randomBytes(nBytes).toString('hex')}`) % (c.n - 1n)) + 1n;
    const x = affineX(c, multiply(c, k, g));
    if (x === null) continue;
    const r = x % c.n;
    if (r === 0n) continue;
    const s = (inv(k, c.n) * mod(z + r * d, c.n)) % c.n;
    if (s === 0n) continue;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.of(0x30), derLength(body.length), body]);
  }
}

export function ecdsaVerifyDigest(key: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  const c = curveOf(key);
  const jwk = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' });
  const sig = parseDerSignature(signature);
  if (sig === null || sig.r <= 0n || sig.r >= c.n || sig.s <= 0n || sig.s >= c.n) return false;
  const z = digestInteger(c, digest);
  const w = inv(sig.s, c.n);
  const u1 = (z * w) % c.n;
  const u2 = (sig.r * w) % c.n;
  const q: Jacobian = [b64u(jwk.x), b64u(jwk.y), 1n];
  const x = affineX(c, add(c, multiply(c, u1, [c.gx, c.gy, 1n]), multiply(c, u2, q)));
  return x !== null && x % c.n === sig.r;
}

