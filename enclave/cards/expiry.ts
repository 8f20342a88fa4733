/**
 * Card expiry dates as printed: "MM/YY". A card is valid through the last day of the printed
 * month (ISO/IEC 7813 track data and EMV tag 5F24 say "valid through"), so it is expired from the
 * first instant of the following month. Instants are taken in UTC: issuers use their own time
 * zones, and UTC is the deterministic choice every enclave of a fleet agrees on (at worst a card is
 * reported expired a few hours early or late on the boundary day).
 *
 * Two-digit years mean 20YY: cards issued today carry at most ~10 years of validity, and the
 * pre-2000 reading has no cards left in circulation.
 *
 * The clock is a parameter (docs/conventions.md item 3): nothing here reads Date.now().
 */
import { InputError } from '../../shared/errors.js';

export interface CardExpiry {
  /** 1..12 */
  readonly month: number;
  /** Four-digit year, 2000..2099. */
  readonly year: number;
}

const EXPIRY = /^(0[1-9]|1[0-2])\/([0-9]{2})$/;

/** Parses "MM/YY". Throws InputError ERR_INVALID_CARD (without echoing the input) otherwise. */
export function parseExpiry(text: string): CardExpiry {
  const match = EXPIRY.exec(text);
  if (match === null) throw new InputError('ERR_INVALID_CARD', 'exp must be MM/YY');
  return { month: Number(match[1]), year: 2000 + Number(match[2]) };
}

/** The first instant (ms since epoch, UTC) at which a card with this expiry is expired. */
export function expiresAt(expiry: CardExpiry): number {
  // Date.UTC normalises month 12 (0-based) to January of the next year.
  return Date.UTC(expiry.year, expiry.month, 1, 0, 0, 0, 0);
}

/** True when the card is expired at `now` (ms since epoch or a Date). */
export function isExpired(expiry: CardExpiry, now: number | Date): boolean {
  const at = typeof now === 'number' ? now : now.getTime();
  if (!Number.isFinite(at)) throw new RangeError('isExpired: now must be a finite time');
  return at >= expiresAt(expiry);
}
