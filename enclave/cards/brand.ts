/**
 * Card brand (scheme) from the issuer identification number (IIN, the leading digits of the PAN,
 * ISO/IEC 7812-1). The ranges are the schemes' published IIN ranges as summarised by Wikipedia
 * "Payment card number" (IIN ranges table), restricted to the brands enclavekit reports. When ranges
 * nest, the longest prefix wins (e.g. Maestro 6759 inside nothing else; Mastercard 2221-2720 is a
 * 4-digit range, Visa is the 1-digit prefix 4).
 *
 * The brand is a fact derived for the caller; nothing depends on it for security.
 */

export type CardBrand =
  | 'visa'
  | 'mastercard'
  | 'amex'
  | 'discover'
  | 'jcb'
  | 'diners'
  | 'unionpay'
  | 'maestro'
  | 'unknown';

interface IinRule {
  readonly brand: Exclude<CardBrand, 'unknown'>;
  /** Inclusive range of the first `digits` digits of the PAN, as numbers. */
  readonly from: number;
  readonly to: number;
  readonly digits: number;
}

/** Allowed PAN lengths per brand (inclusive ranges), from the same table. */
export const BRAND_LENGTHS: Readonly<Record<Exclude<CardBrand, 'unknown'>, readonly [number, number]>> = {
  visa: [13, 19],
  mastercard: [16, 16],
  amex: [15, 15],
  discover: [16, 19],
  jcb: [16, 19],
  diners: [14, 19],
  unionpay: [14, 19],
  maestro: [12, 19],
};

const RULES: readonly IinRule[] = [
  { brand: 'visa', from: 4, to: 4, digits: 1 },
  { brand: 'mastercard', from: 51, to: 55, digits: 2 },
  // The 2-series, in use since 2017.
  { brand: 'mastercard', from: 2221, to: 2720, digits: 4 },
  { brand: 'amex', from: 34, to: 34, digits: 2 },
  { brand: 'amex', from: 37, to: 37, digits: 2 },
  { brand: 'discover', from: 6011, to: 6011, digits: 4 },
  { brand: 'discover', from: 644, to: 649, digits: 3 },
  { brand: 'discover', from: 65, to: 65, digits: 2 },
  { brand: 'jcb', from: 3528, to: 3589, digits: 4 },
  { brand: 'diners', from: 300, to: 305, digits: 3 },
  { brand: 'diners', from: 3095, to: 3095, digits: 4 },
  { brand: 'diners', from: 36, to: 36, digits: 2 },
  { brand: 'diners', from: 38, to: 39, digits: 2 },
  // UnionPay: 62 (which includes the 622126-622925 range Discover also accepts: the issuer is
  // UnionPay, so the brand is UnionPay) and the newer 81 series.
  { brand: 'unionpay', from: 62, to: 62, digits: 2 },
  { brand: 'unionpay', from: 81, to: 81, digits: 2 },
  { brand: 'maestro', from: 50, to: 50, digits: 2 },
  { brand: 'maestro', from: 56, to: 58, digits: 2 },
  { brand: 'maestro', from: 6304, to: 6304, digits: 4 },
  { brand: 'maestro', from: 6759, to: 6759, digits: 4 },
  { brand: 'maestro', from: 6761, to: 6763, digits: 4 },
].sort((a, b) => b.digits - a.digits) as IinRule[];

/**
 * The brand of `pan` (ASCII digits), or 'unknown' when no IIN range matches or the length is not
 * one the matching brand issues.
 */
export function detectBrand(pan: string): CardBrand {
  if (!/^[0-9]{8,19}$/.test(pan)) return 'unknown';
  for (const rule of RULES) {
    const prefix = Number(pan.slice(0, rule.digits));
    if (prefix < rule.from || prefix > rule.to) continue;
    const [min, max] = BRAND_LENGTHS[rule.brand];
    return pan.length >= min && pan.length <= max ? rule.brand : 'unknown';
  }
  return 'unknown';
}
