/**
 * msgpackr, configured for frames from a peer we do not trust (docs/architecture.md "Trust model": the
 * parent is untrusted by the enclave, and the enclave's output is checked by the parent).
 *
 * Encoding (Packr):
 * - `useRecords: false`: plain msgpack maps, no record extension (other decoders can read frames);
 * - `moreTypes: false`, no `structuredClone`, no `bundleStrings`: no extension types are written;
 * - `encodeUndefinedAsNil` + `skipValues: [undefined]`: `undefined` behaves as in JSON (properties
 *   dropped, array slots null) instead of becoming msgpackr's ext 0;
 * - Buffer / Uint8Array are written as msgpack `bin`.
 * Our own output is then checked by the same scanner as a peer's (msgpack-scan.ts), so a value
 * outside the data model (Date, bigint beyond 2^53, ...) fails here, as a TypeError, instead of at
 * the peer.
 *
 * Decoding (Unpackr), after `scanMsgpack` has refused every extension type:
 * - `mapsAsObjects: true`: maps become plain objects (msgpackr renames a `__proto__` key);
 * - `int64AsType: 'number'`: exact, since the scanner admits only integers within ±(2^53 - 1);
 * - `copyBuffers: true`: `bin` values are fresh copies, not views of the socket chunk, so a small
 *   field kept for long (say, a wrapped key in a cache) does not pin a 64 KiB read buffer, and a
 *   handler zeroing a buffer it received zeroes only its own bytes. They decode as Node Buffers.
 */
import { Packr, Unpackr, type Options } from 'msgpackr';
import { ProtocolError } from '../errors.js';
import { MSGPACK_MAX_DEPTH, scanMsgpack } from './msgpack-scan.js';

// `skipValues` exists in msgpackr 2.1.4 (pack.js writePlainObject) but not in its Options typing.
const packOptions: Options & { skipValues: unknown[] } = {
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  encodeUndefinedAsNil: true,
  skipValues: [undefined],
  variableMapSize: true,
};
const packr = new Packr(packOptions);

const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  structuredClone: false,
  moreTypes: false,
  int64AsType: 'number',
  copyBuffers: true,
});

/**
 * Encodes plain data. Throws TypeError when `value` is outside the data model: that is a bug in
 * our own code, not a peer's fault. The result may share memory with earlier results (msgpackr
 * packs into a shared slab and never rewrites what it handed out): treat it as read-only.
 */
export function packPlain(value: unknown): Buffer {
  let bytes: Buffer;
  try {
    bytes = packr.pack(value);
  } catch (error) {
    throw new TypeError('value can not be encoded as msgpack', { cause: error });
  }
  try {
    scanMsgpack(bytes, MSGPACK_MAX_DEPTH);
  } catch (error) {
    throw new TypeError(
      'value is outside the frame data model (null, boolean, safe integer, float, string, bytes, array, plain object)',
      { cause: error },
    );
  }
  return bytes;
}

/** Decodes one value from a peer; ProtocolError ERR_FRAME_MALFORMED for anything refused. */
export function unpackPlain(bytes: Uint8Array): unknown {
  scanMsgpack(bytes, MSGPACK_MAX_DEPTH);
  try {
    return unpackr.unpack(bytes);
  } catch (error) {
    // Not expected after the scan; kept so that no msgpackr exception escapes as another type.
    throw new ProtocolError('ERR_FRAME_MALFORMED', 'frame payload could not be decoded', { cause: error });
  }
}
