/**
 * A pre-decode check of msgpack bytes against enclavekit's data model: nil, booleans, integers
 * within ±(2^53 - 1), floats, strings, binary, arrays, and maps with string keys, nested at most
 * `maxDepth` deep. Nothing else: no extension types at all (msgpack spec "ext" family 0xc7-0xc9,
 * 0xd4-0xd8) and no 0xc1.
 *
 * Why before decoding rather than after: msgpackr's decoder acts on extension types from the data
 * whatever its options say. A peer could define record structures (ext 0x72: msgpackr then
 * compiles a reader with `new Function` and reinterprets later bytes 0x40-0x7f), build Errors,
 * RegExps, Sets, typed arrays, bundled strings or structured-clone references (exts 0x65, 0x78,
 * 0x73, 0x74, 0x62, 0x69/0x70). Refusing every extension byte up front means msgpackr only ever
 * sees core msgpack, so it can build nothing but plain data. The walk is iterative (a deep nest
 * can not overflow the stack) and skips string/binary payloads in O(1), so it costs far less
 * than the decode that follows.
 *
 * Reference: MessagePack specification, "Formats" (github.com/msgpack/msgpack/blob/master/spec.md).
 */
import { ProtocolError } from '../errors.js';

/** Depth of nested arrays/maps in a frame (the message envelope counts as level 1). */
export const MSGPACK_MAX_DEPTH = 32;

/** |integer| ≤ 2^53 - 1: the high 32 bits of a 64-bit integer must stay below 2^21. */
const SAFE_HIGH_WORD = 0x20_0000;

// Per-level counters for the walk. The scan is synchronous and never re-entered, so one
// module-level scratch array serves every call without allocating.
let remainingStack = new Float64Array(MSGPACK_MAX_DEPTH + 2);
let isMapStack = new Uint8Array(MSGPACK_MAX_DEPTH + 2);

function malformed(reason: string): ProtocolError {
  return new ProtocolError('ERR_FRAME_MALFORMED', `frame payload is not valid msgpack data: ${reason}`);
}

/**
 * Throws ProtocolError ERR_FRAME_MALFORMED unless `bytes` is exactly one msgpack value within the
 * data model above. The reason in the message names the rule, never the data.
 */
export function scanMsgpack(bytes: Uint8Array, maxDepth: number = MSGPACK_MAX_DEPTH): void {
  if (remainingStack.length < maxDepth + 2) {
    remainingStack = new Float64Array(maxDepth + 2);
    isMapStack = new Uint8Array(maxDepth + 2);
  }
  const end = bytes.length;
  let pos = 0;
  // Level 0 is the top: one value, not a map.
  let depth = 0;
  remainingStack[0] = 1;
  isMapStack[0] = 0;

  while (depth >= 0) {
    if (remainingStack[depth] === 0) {
      depth--;
      continue;
    }
    const keySlot = isMapStack[depth] === 1 && remainingStack[depth]! % 2 === 0;
    remainingStack[depth]!--;
    if (pos >= end) throw malformed('truncated');
    const token = bytes[pos++]!;

    // Strings first: the only type allowed as a map key.
    if ((token >= 0xa0 && token <= 0xbf) || (token >= 0xd9 && token <= 0xdb)) {
      let strLength: number;
      if (token <= 0xbf) {
        strLength = token & 0x1f;
      } else {
        const size = token === 0xd9 ? 1 : token === 0xda ? 2 : 4;
        strLength = readUint(bytes, pos, size, end);
        pos += size;
      }
      if (strLength > end - pos) throw malformed('truncated');
      pos += strLength;
      continue;
    }
    if (keySlot) throw malformed('map key is not a string');

    if (token <= 0x7f || token >= 0xe0 || token === 0xc0 || token === 0xc2 || token === 0xc3) continue;

    let count = -1; // container entries
    let isMap = 0;
    switch (token) {
      case 0xc4: case 0xc5: case 0xc6: {
        const size = token === 0xc4 ? 1 : token === 0xc5 ? 2 : 4;
        const n = readUint(bytes, pos, size, end);
        pos += size;
        if (n > end - pos) throw malformed('truncated');
        pos += n;
        continue;
      }
      case 0xcc: case 0xd0: pos += 1; break;
      case 0xcd: case 0xd1: pos += 2; break;
      case 0xce: case 0xd2: case 0xca: pos += 4; break;
      case 0xcb: pos += 8; break;
      case 0xcf: {
        if (end - pos < 8) throw malformed('truncated');
        if (readUint(bytes, pos, 4, end) >= SAFE_HIGH_WORD) throw malformed('integer beyond 2^53 - 1');
        pos += 8;
        break;
      }
      case 0xd3: {
        if (end - pos < 8) throw malformed('truncated');
        const high = readUint(bytes, pos, 4, end) | 0; // as int32
        const low = readUint(bytes, pos + 4, 4, end);
        if (high >= SAFE_HIGH_WORD || high < -SAFE_HIGH_WORD || (high === -SAFE_HIGH_WORD && low === 0)) {
          throw malformed('integer beyond 2^53 - 1');
        }
        pos += 8;
        break;
      }
      case 0xdc: count = readUint(bytes, pos, 2, end); pos += 2; break;
      case 0xdd: count = readUint(bytes, pos, 4, end); pos += 4; break;
      case 0xde: count = readUint(bytes, pos, 2, end) * 2; pos += 2; isMap = 1; break;
      case 0xdf: count = readUint(bytes, pos, 4, end) * 2; pos += 4; isMap = 1; break;
      default:
        if (token >= 0x80 && token <= 0x8f) {
          count = (token & 0x0f) * 2;
          isMap = 1;
        } else if (token >= 0x90 && token <= 0x9f) {
          count = token & 0x0f;
        } else if (token === 0xc1) {
          throw malformed('reserved byte 0xc1');
        } else {
          // 0xc7-0xc9, 0xd4-0xd8: extension types.
          throw malformed('extension types are not accepted');
        }
    }
    if (pos > end) throw malformed('truncated');
    if (count > 0) {
      // Every entry takes at least one byte: refuse counts the rest of the frame can not hold.
      if (count > end - pos) throw malformed('truncated');
      if (depth + 1 > maxDepth) throw malformed(`nested deeper than ${maxDepth}`);
      depth++;
      remainingStack[depth] = count;
      isMapStack[depth] = isMap;
    }
  }
  if (pos !== end) throw malformed('trailing bytes after the value');
}

function readUint(bytes: Uint8Array, pos: number, size: 1 | 2 | 4, end: number): number {
  if (end - pos < size) throw malformed('truncated');
  if (size === 1) return bytes[pos]!;
  if (size === 2) return (bytes[pos]! << 8) | bytes[pos + 1]!;
  return bytes[pos]! * 0x100_0000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
}
