import * as zmq from 'zeromq';
import { decode, encode } from './codec.js';
import { ProtocolError } from './errors.js';
import { silentLogger, type ProtocolLogger } from './logger.js';
import type { Message } from './messages.js';
import { MAX_BODY_BYTES } from './messages.js';
import { allowCurveClients, forgetCurveDomain } from './zap.js';

export interface ServerCurve {
  secretKey: string;
  /** Public keys of the agents allowed in; any other key is refused in the handshake. */
  allowedClientKeys: string[];
}

export interface RouterTransportOptions {
  bind: string;
  onMessage(peerId: string, msg: Message): void;
  curve?: ServerCurve;
  logger?: ProtocolLogger;
}

/**
 * The dispatch-server's end: a ROUTER addressing each agent by its routing id (the node id).
 * A frame that is not a clover message is logged and dropped; the loop never dies of one.
 */
export class RouterTransport {
  private readonly sock: zmq.Router;
  private sending: Promise<unknown> = Promise.resolve();
  private closed = false;
  private loop: Promise<void> | null = null;
  private readonly logger: ProtocolLogger;
  private readonly zapDomain: string | null;
  /** Frames dropped as malformed, by reason; exposed for tests and metrics. */
  readonly dropped = new Map<string, number>();

  constructor(private readonly opts: RouterTransportOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.zapDomain = opts.curve ? `clover-${process.pid}-${Math.random().toString(36).slice(2)}` : null;
    this.sock = new zmq.Router({
      linger: 0,
      mandatory: true,
      handover: true,
      // Oversized frames are cut at the socket, before any allocation of their size.
      maxMessageSize: MAX_BODY_BYTES + 64 * 1024,
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
      // With no peer connected at all a mandatory ROUTER never turns writable, and sends are
      // chained in order: without a bound, one send to an empty socket would stall every later one.
      sendTimeout: 2000,
      ...(opts.curve ? { curveServer: true, curveSecretKey: opts.curve.secretKey, zapDomain: this.zapDomain! } : {}),
    });
  }

  get endpoint(): string {
    return this.sock.lastEndpoint ?? this.opts.bind;
  }

  async start(): Promise<void> {
    if (this.opts.curve) await allowCurveClients(this.zapDomain!, this.opts.curve.allowedClientKeys, this.logger);
    await this.sock.bind(this.opts.bind);
    this.loop = this.receive();
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.sock) {
        const [peer, ...rest] = frames;
        if (!peer) continue;
        const peerId = peer.toString('utf8');
        let msg: Message;
        try {
          msg = decode(rest);
        } catch (err) {
          const code = err instanceof ProtocolError ? err.code : 'unknown';
          this.dropped.set(code, (this.dropped.get(code) ?? 0) + 1);
          this.logger.warn('dropped a malformed frame', { peer: peerId.slice(0, 64), reason: err instanceof Error ? err.message : String(err) });
          continue;
        }
        try {
          this.opts.onMessage(peerId, msg);
        } catch (err) {
          this.logger.error('message handler threw', { peer: peerId, type: msg.type, err: String(err) });
        }
      }
    } catch (err) {
      if (!this.closed) this.logger.error('router receive loop ended', { err: String(err) });
    }
  }

  /** Resolves false when the peer is not connected (ROUTER mandatory), so callers can fail over. */
  send(peerId: string, msg: Message): Promise<boolean> {
    const frames = [Buffer.from(peerId, 'utf8'), ...encode(msg)];
    const result = this.sending.then(
      () => (this.closed ? false : this.sock.send(frames).then(() => true)),
    ).catch((err: unknown) => {
      const code = (err as { code?: string }).code;
      if (code === 'EAGAIN') this.logger.debug('send timed out: no peer is reading', { peer: peerId, type: msg.type });
      else if (code !== 'EHOSTUNREACH') this.logger.warn('send failed', { peer: peerId, type: msg.type, err: String(err) });
      return false;
    });
    this.sending = result;
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let queued sends go out, but never wait on a peer that is not reading.
    await Promise.race([this.sending.catch(() => undefined), new Promise((r) => setTimeout(r, 500).unref())]);
    this.sock.close();
    await this.loop?.catch(() => undefined);
    if (this.zapDomain) forgetCurveDomain(this.zapDomain);
  }
}
