/** Transports selected by URL: raw byte streams and framed channels. */
export {
  UNIX_PATH_MAX_BYTES,
  VSOCK_CID_ANY,
  assertConnectable,
  formatTransportUrl,
  parseTransportUrl,
  type TransportAddress,
  type TransportKind,
} from './url.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  listenStreams,
  openStream,
  openStreamTo,
  type ListenStreamsOptions,
  type OpenStreamOptions,
  type StreamListener,
} from './streams.js';
export {
  connectChannel,
  listenChannels,
  type ChannelListener,
  type ConnectChannelOptions,
  type ListenChannelsOptions,
} from './channels.js';
export { CLOSE_GRACE_MS, StreamFrameChannel } from './stream-channel.js';
export { WsFrameChannel } from './ws.js';
export type { FrameChannel, FrameChannelOptions, FrameChannelStats } from '../protocol/channel.js';
