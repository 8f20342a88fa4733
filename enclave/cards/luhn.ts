/** The Luhn check lives in shared/ (the parent's log redaction guard needs it too). */
export { luhnCheckDigit, luhnValid } from '../../shared/luhn.js';
