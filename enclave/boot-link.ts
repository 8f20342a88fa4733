/**
 * The enclave's side of the link while it boots. It opens before anything else, answers only
 * `status` (with the boot report) until the boot has finished, and carries log events to the
 * parent, holding those from before any parent connected (enclave/boot-report.ts). A production
 * enclave's console is unreadable outside debug mode, so this is how a parent learns why an
 * enclave never became ready. Nothing but `status` is served before the boot installs its
 * handlers, so no attestation document can predate the PCR16 measurement of the configuration.
 */
import { ServiceError } from '../shared/errors.js';
import type { FrameChannel } from '../shared/protocol/channel.js';
import { RpcPeer, type RpcHandler } from '../shared/protocol/rpc.js';
import { BootReport, type BootEvent, type EventFields, type EventLevel } from './boot-report.js';

/** Log events in flight to the parent at once; beyond this they are dropped (and counted). */
const MAX_LOG_EVENTS_IN_FLIGHT = 64;
/** After a failed boot, how long the link waits for a parent to take the reason, ms. */
export const DEFAULT_BOOT_FAILURE_HOLD_MS = 15_000;

export type EnclaveLog = (event: string, fields?: EventFields, level?: EventLevel) => void;

export interface BootLinkOptions {
  listen: string;
  listenChannels: (url: string, onChannel: (channel: FrameChannel) => void) => Promise<{ close(): Promise<void> | void }>;
  /** The console (stderr in the enclave process). */
  log?: (event: string, fields: EventFields, level: EventLevel) => void;
}

export interface BootLink {
  readonly log: EnclaveLog;
  latestPeer(): RpcPeer | undefined;
  logsDropped(): number;
  /** The boot succeeded: serve these operations from now on. */
  ready(handlers: Readonly<Record<string, RpcHandler>>): void;
  /**
   * The boot failed: report it (status and a `boot-failed` event), wait until a parent has
   * acknowledged the event or `holdMs` passed, then close.
   */
  fail(error: unknown, holdMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function openBootLink(options: BootLinkOptions): Promise<BootLink> {
  const peers = new Set<RpcPeer>();
  const boot = new BootReport();
  let logsInFlight = 0;
  let logsDropped = 0;
  let failureDelivered: () => void = () => undefined;
  const failureAcknowledged = new Promise<void>((resolve) => (failureDelivered = resolve));
  const latestPeer = (): RpcPeer | undefined => {
    const peer = [...peers].at(-1);
    return peer === undefined || peer.closed ? undefined : peer;
  };
  const send = (peer: RpcPeer, e: BootEvent): void => {
    if (logsInFlight >= MAX_LOG_EVENTS_IN_FLIGHT) {
      logsDropped += 1;
      return;
    }
    logsInFlight += 1;
    peer
      .request('log', { event: e.event, level: e.level, fields: e.fields }, { deadlineMs: 2_000 })
      .then(() => (e.event === 'boot-failed' ? failureDelivered() : undefined))
      .catch(() => undefined)
      .finally(() => (logsInFlight -= 1));
  };
  const log: EnclaveLog = (event, fields = {}, level = 'info') => {
    options.log?.(event, fields, level);
    const peer = latestPeer();
    if (peer === undefined) boot.hold({ event, level, fields });
    else send(peer, { event, level, fields });
  };

  let booted: (handlers: Readonly<Record<string, RpcHandler>> | undefined) => void = () => undefined;
  const bootDone = new Promise<Readonly<Record<string, RpcHandler>> | undefined>((resolve) => (booted = resolve));
  // What a parent asks right after connecting (its wrapped keys, a document) waits for the boot.
  const afterBoot = (op: string): RpcHandler => async (body, ctx) => {
    const handler = (await bootDone)?.[op];
    if (handler === undefined) throw new ServiceError('ERR_NOT_READY', `enclave ${boot.reason()}`);
    return handler(body, ctx);
  };
  const handlers: Record<string, RpcHandler> = {
    status: async () => ({ ready: false, reason: boot.reason(), now: Date.now(), boot: boot.summary() }),
    'keys.load': afterBoot('keys.load'),
    attestation: afterBoot('attestation'),
  };
  const listener = await options.listenChannels(options.listen, (channel) => {
    const peer = new RpcPeer(channel, {
      handlers,
      onHandlerError: (error, info) => log('handler-error', { op: info.op, errorName: error instanceof Error ? error.name : typeof error }, 'error'),
    });
    peers.add(peer);
    for (const held of boot.takeHeld()) send(peer, held);
    log('parent-connected', { peer: channel.peer });
    peer.onClose(() => {
      peers.delete(peer);
      log('parent-disconnected', {});
    });
  });
  log('listening', { url: options.listen });

  const close = async (): Promise<void> => {
    await listener.close();
    for (const peer of peers) peer.close();
  };
  return {
    log,
    latestPeer,
    logsDropped: () => logsDropped + boot.dropped,
    ready(bootedHandlers) {
      Object.assign(handlers, bootedHandlers);
      for (const peer of peers) for (const [op, handler] of Object.entries(bootedHandlers)) peer.setHandler(op, handler);
      boot.ready();
      booted(bootedHandlers);
      log('boot-complete', {});
    },
    async fail(error, holdMs = DEFAULT_BOOT_FAILURE_HOLD_MS) {
      const { code, message } = boot.fail(error);
      booted(undefined);
      log('boot-failed', { code, message }, 'error');
      const hold = new Promise<void>((resolve) => setTimeout(resolve, holdMs).unref());
      await Promise.race([failureAcknowledged, hold]);
      await close();
    },
    close,
  };
}
