/**
 * The raw NSM protocol served on a Unix socket, so that a dev enclave process talks to a simulator
 * process exactly as it would talk to /dev/nsm: one nsm-api `Request` in, one `Response` out, each
 * in a 4-byte big-endian length frame (shared/nsm/framing.ts). Any `Nsm` can sit behind it.
 *
 * Bad input never takes the server down: an undecodable request is answered with
 * `Error(InvalidArgument)`, an oversized one (> 4096 bytes, the ioctl limit) with
 * `Error(InputTooLarge)` and the connection is closed, and an error thrown by the `Nsm` becomes the
 * `Error` variant named by `nsmErrorCodeOf`.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ProtocolError } from '../../shared/errors.js';
import { LIMITS } from '../../shared/limits.js';
import { decodeNsmRequest, encodeNsmResponse, nsmErrorCodeOf, type NsmRequest, type NsmResponse } from '../../shared/nsm/codec.js';
import { encodeNsmFrame, NsmFrameReader, NsmFrameTooLargeError } from '../../shared/nsm/framing.js';
import type { Nsm } from '../../shared/nsm/types.js';

/** Requests queued on one connection before we stop reading from it (backpressure). */
const MAX_QUEUED_REQUESTS = 16;

export interface NsmServer {
  close(): Promise<void>;
}

async function perform(nsm: Nsm, request: NsmRequest): Promise<NsmResponse> {
  switch (request.kind) {
    case 'DescribePCR': {
      const { lock, data } = await nsm.describePcr(request.index);
      return { kind: 'DescribePCR', lock, data };
    }
    case 'ExtendPCR':
      return { kind: 'ExtendPCR', data: await nsm.extendPcr(request.index, request.data) };
    case 'LockPCR':
      await nsm.lockPcr(request.index);
      return { kind: 'LockPCR' };
    case 'LockPCRs':
      await nsm.lockPcrs(request.range);
      return { kind: 'LockPCRs' };
    case 'DescribeNSM':
      return { kind: 'DescribeNSM', ...(await nsm.describeNsm()) };
    case 'Attestation':
      return {
        kind: 'Attestation',
        document: await nsm.attest({
          userData: request.userData ?? undefined,
          nonce: request.nonce ?? undefined,
          publicKey: request.publicKey ?? undefined,
        }),
      };
    case 'GetRandom':
      return { kind: 'GetRandom', random: await nsm.getRandom() };
  }
}

/** Answers one raw request; never throws. */
export async function answerNsmRequest(nsm: Nsm, raw: Uint8Array): Promise<Uint8Array> {
  let request: NsmRequest;
  try {
    request = decodeNsmRequest(raw);
  } catch {
    return encodeNsmResponse({ kind: 'Error', code: 'InvalidArgument' });
  }
  try {
    const encoded = encodeNsmResponse(await perform(nsm, request));
    // The device's response buffer is 12288 bytes (include/uapi/linux/nsm.h).
    if (encoded.length > LIMITS.nsmResponseMaxBytes) return encodeNsmResponse({ kind: 'Error', code: 'BufferTooSmall' });
    return encoded;
  } catch (error) {
    return encodeNsmResponse({ kind: 'Error', code: nsmErrorCodeOf(error) });
  }
}

function serveConnection(nsm: Nsm, socket: Socket): void {
  const reader = new NsmFrameReader(LIMITS.nsmRequestMaxBytes);
  const queue: Buffer[] = [];
  let busy = false;

  const drain = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    while (queue.length > 0 && !socket.destroyed) {
      const request = queue.shift()!;
      const response = await answerNsmRequest(nsm, request);
      if (!socket.destroyed) socket.write(encodeNsmFrame(response));
      if (queue.length < MAX_QUEUED_REQUESTS && socket.isPaused()) socket.resume();
    }
    busy = false;
  };

  socket.on('data', (chunk: Buffer) => {
    let frames: Buffer[];
    try {
      frames = reader.push(chunk);
    } catch (error) {
      if (!(error instanceof NsmFrameTooLargeError)) throw error;
      // Like the driver's -EMSGSIZE; the stream cannot be trusted past a bad header, so end it.
      socket.end(encodeNsmFrame(encodeNsmResponse({ kind: 'Error', code: 'InputTooLarge' })));
      socket.pause();
      return;
    }
    queue.push(...frames);
    if (queue.length >= MAX_QUEUED_REQUESTS) socket.pause();
    void drain();
  });
  // A peer that vanishes is not our problem; without a listener the error would be thrown.
  socket.on('error', () => socket.destroy());
}

/** Removes a socket file left by a dead server; refuses to touch anything else or a live server. */
async function clearStaleSocket(path: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch {
    return;
  }
  if (!stats.isSocket()) throw new ProtocolError('ERR_TRANSPORT', `${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new ProtocolError('ERR_TRANSPORT', `another process is serving ${path}`);
  await unlink(path);
}

/** Serves `nsm` on the Unix socket `socketPath` (mode 0600). */
export async function serveNsm(nsm: Nsm, socketPath: string): Promise<NsmServer> {
  await clearStaleSocket(socketPath);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveConnection(nsm, socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new ProtocolError('ERR_TRANSPORT', `cannot listen on ${socketPath}`, { cause: error })));
    server.listen(socketPath, () => resolve());
  });
  server.on('error', () => {
    // After listen succeeded, accept errors (EMFILE) are transient; the server keeps listening.
  });
  // Whoever can connect can obtain attestation documents: owner only.
  await chmod(socketPath, 0o600);

  let closing: Promise<void> | undefined;
  return {
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
