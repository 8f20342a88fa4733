/** Reading request bodies with the size limit applied while streaming, before buffering more. */
import type { IncomingMessage } from 'node:http';
import { InputError } from '../../shared/errors.js';

/**
 * After a body is refused for its size, up to this many more of its bytes are read and thrown
 * away, so that a client still sending gets to read the 413 (a server that stops reading, or
 * closes with unread data, makes the client see a stall or a reset instead: RFC 9112 §9.6 on
 * closing). A client that sends more than this past the limit is cut off.
 */
export const REFUSED_BODY_DRAIN_MAX_BYTES = 8 * 1024 * 1024;

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw refuseBody(req, maxBytes);
  // Read with listeners rather than `for await`: leaving a for-await loop early (the size
  // check) calls the iterator's return(), which destroys the request without closing its socket,
  // so the rest of the body was never read and the connection hung with the client's upload
  // blocked (found by test/faults/flood.test.ts: later requests on that connection timed out).
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: InputError): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        chunks.length = 0;
        done(refuseBody(req, maxBytes));
      } else chunks.push(chunk);
    };
    const onEnd = (): void => done();
    const onError = (error: Error): void => done(new InputError('ERR_BAD_REQUEST', 'request body could not be read', { cause: error }));
    // 'close' before 'end': the client went away in the middle of the body.
    const onClose = (): void => done(new InputError('ERR_BAD_REQUEST', 'request body ended early'));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
  const contentType = String(req.headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(contentType)) {
    throw new InputError('ERR_BAD_REQUEST', 'Content-Type must be application/json');
  }
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as unknown;
  } catch (error) {
    // The parser's message quotes the input: keep it out of the reply.
    throw new InputError('ERR_BAD_REQUEST', 'request body is not valid JSON', { cause: error });
  }
}

/** Discards the rest of a refused body (bounded, see REFUSED_BODY_DRAIN_MAX_BYTES); returns the 413. */
function refuseBody(req: IncomingMessage, maxBytes: number): InputError {
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > REFUSED_BODY_DRAIN_MAX_BYTES) req.socket?.destroy();
  });
  req.resume();
  return new InputError('ERR_BODY_TOO_LARGE', `request body exceeds ${maxBytes} bytes`);
}
