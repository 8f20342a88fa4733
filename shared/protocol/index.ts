/** Framing, wire messages and the multiplexed RPC of the parent ⇄ enclave link. */
export { FRAME_HEADER_BYTES, assertSendableFrame, encodeFrame, encodeFrameHeader, writeFrameHeader } from './frame-encoder.js';
export { FrameDecoder, type FrameDecoderOptions } from './frame-decoder.js';
export { MSGPACK_MAX_DEPTH, scanMsgpack } from './msgpack-scan.js';
export { packPlain, unpackPlain } from './msgpack.js';
export {
  DEADLINE_MAX_MS,
  ERROR_MESSAGE_MAX_LENGTH,
  OP_MAX_LENGTH,
  PROTOCOL_VERSION,
  decodeMessage,
  encodeCancel,
  encodeReplyError,
  encodeReplyOk,
  encodeRequest,
  isValidId,
  isValidOp,
  type CancelMessage,
  type InvalidMessage,
  type Message,
  type ReplyErrorMessage,
  type ReplyOkMessage,
  type RequestMessage,
  type WireError,
} from './messages.js';
export {
  DEFAULT_HIGH_WATER_MARK_BYTES,
  type FrameChannel,
  type FrameChannelOptions,
  type FrameChannelStats,
} from './channel.js';
export { BaseFrameChannel } from './channel-base.js';
export { MemoryFrameChannel, createMemoryChannelPair } from './memory-channel.js';
export { RpcPeer, type RequestOptions, type RpcContext, type RpcHandler, type RpcPeerOptions, type RpcStats } from './rpc.js';
