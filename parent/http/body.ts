/** Reading request bodies with the size limit applied while streaming, before buffering more. */
import type { IncomingMessage } from 'node:http';
import { InputError } from '../../shared/errors.js';

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new InputError('ERR_BODY_TOO_LARGE', `request body exceeds ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw new InputError('ERR_BODY_TOO_LARGE', `request body exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
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
