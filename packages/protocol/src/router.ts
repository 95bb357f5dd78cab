import * as zmq from 'zeromq';
import { batchesOf, encode, encodeBatch } from './codec.js';
import { bodyDeliverer } from './deliver.js';
import { DropLog } from './drop-log.js';
import { ProtocolError } from './errors.js';
import { noopLogger, type Logger } from '@clover/telemetry';
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
  /**
   * Called after a malformed frame or body from `peerId` was logged and dropped (with its
   * ProtocolError: `code`, and `messageType`/`execId` when the body was JSON of a known type
   * that failed its schema), so the server can resolve the run such an answer names. A throw
   * here is logged; the loop goes on. Default: nothing beyond the log and `dropped`.
   */
  onInvalid?(peerId: string, err: ProtocolError): void;
  curve?: ServerCurve;
  logger?: Logger;
}

/**
 * The dispatch-server's end: a ROUTER addressing each agent by its routing id (the node id).
 * A frame that is not a clover message is logged and dropped; the loop never dies of one.
 */
export class RouterTransport {
  private readonly sock: zmq.Router;
  private closed = false;
  private loop: Promise<void> | null = null;
  private readonly logger: Logger;
  /** Malformed frames are logged through it, rate-limited (a peer sending garbage fast costs a few lines). */
  private readonly dropLog: DropLog;
  /** The ZAP domain this socket's CURVE allow-list is kept under (used only with `curve`). */
  private readonly zapDomain: string;
  /** Frames dropped as malformed, by reason; exposed for tests and metrics. */
  readonly dropped = new Map<string, number>();
  /** ZeroMQ messages received and the clover messages (bodies) they carried. */
  readonly received = { messages: 0, bodies: 0 };
  /** Peers that read messages of several bodies (their HELLO said so). */
  private readonly batching = new Set<string>();
  /** Per batching peer, what this turn sent it, in order, until the end of the turn. */
  private readonly outbox = new Map<string, Array<{ msg: Message; done(sent: boolean): void }>>();
  private flushQueued = false;

  constructor(private readonly opts: RouterTransportOptions) {
    this.logger = opts.logger ?? noopLogger;
    this.dropLog = new DropLog({ logger: this.logger, message: 'dropped a malformed frame' });
    this.zapDomain = `clover-${process.pid}-${Math.random().toString(36).slice(2)}`;
    this.sock = new zmq.Router({
      linger: 0,
      mandatory: true,
      handover: true,
      // Oversized frames are cut at the socket, before any allocation of their size.
      maxMessageSize: MAX_BODY_BYTES + 64 * 1024,
      sendHighWaterMark: 100_000,
      receiveHighWaterMark: 100_000,
      // Every send is attempted at once and never waits: a peer that is gone (EHOSTUNREACH) or
      // not reading (EAGAIN, its queue full) is a failed send the caller fails over from. With
      // any other timeout zeromq.js puts a send off to a later turn of the event loop after
      // every 512 operations done without waiting (to let other work in), and a busy receive
      // loop does that many a second: a second's EXECs then waited behind that turn's ACKs,
      // RESULTs and store writes, up to 40 ms late (bench/dispatch-minute.bench.ts).
      sendTimeout: 0,
      ...(opts.curve ? { curveServer: true, curveSecretKey: opts.curve.secretKey, zapDomain: this.zapDomain } : {}),
    });
  }

  get endpoint(): string {
    return this.sock.lastEndpoint ?? this.opts.bind;
  }

  async start(): Promise<void> {
    if (this.opts.curve) await allowCurveClients(this.zapDomain, this.opts.curve.allowedClientKeys, this.logger);
    await this.sock.bind(this.opts.bind);
    this.loop = this.receive();
  }

  private async receive(): Promise<void> {
    const deliver = bodyDeliverer(this.received);
    try {
      for await (const frames of this.sock) {
        const [peer, ...rest] = frames;
        if (!peer) continue;
        const peerId = peer.toString('utf8');
        const pause = deliver(rest, {
          dropped: (err) => this.drop(peerId, err),
          message: (msg) => this.opts.onMessage(peerId, msg),
          threw: (msg, err) => this.logger.error('message handler threw', { peer: peerId, type: msg.type, err }),
        });
        if (pause) await pause;
      }
    } catch (err) {
      if (!this.closed) this.logger.error('router receive loop ended', { err });
    }
  }

  private drop(peerId: string, err: unknown): void {
    const code = err instanceof ProtocolError ? err.code : 'unknown';
    this.dropped.set(code, (this.dropped.get(code) ?? 0) + 1);
    this.dropLog.drop(err, { peer: peerId.slice(0, 64) });
    if (!this.opts.onInvalid || !(err instanceof ProtocolError)) return;
    try {
      this.opts.onInvalid(peerId, err);
    } catch (thrown) {
      this.logger.error('onInvalid threw', { peer: peerId.slice(0, 64), err: thrown });
    }
  }

  /** Whether the peer reads messages of several bodies; from its HELLO. */
  setBatching(peerId: string, on: boolean): void {
    if (on) this.batching.add(peerId);
    else this.batching.delete(peerId);
  }

  /**
   * Hands the message to the socket now, in call order. Resolves false when the peer is not
   * connected (ROUTER mandatory) or not reading, so callers can fail over.
   */
  async send(peerId: string, msg: Message): Promise<boolean> {
    if (this.closed) return false;
    if (!this.batching.has(peerId)) return this.sendFrames(peerId, msg.type, encode(msg));
    // To a peer that reads several bodies, a turn's messages go out together at its end (a
    // slot's EXECs to one agent as one message): per message, ZeroMQ's send costs more than
    // the encoding. Still in call order: consecutive ones of one type share a message.
    return new Promise<boolean>((done) => {
      let queue = this.outbox.get(peerId);
      if (!queue) this.outbox.set(peerId, (queue = []));
      queue.push({ msg, done });
      if (this.flushQueued) return;
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    });
  }

  /** Synchronous: every send is attempted here and now, so a later flush cannot overtake it. */
  private flush(): void {
    this.flushQueued = false;
    const outbox = [...this.outbox];
    this.outbox.clear();
    for (const [peerId, queue] of outbox) {
      for (const group of batchesOf(queue, (q) => q.msg.type)) {
        const sent = this.closed
          ? Promise.resolve(false)
          : this.sendFrames(peerId, group[0].msg.type, encodeBatch(group.map((g) => g.msg)));
        void sent.then((ok) => group.forEach((g) => g.done(ok)));
      }
    }
  }

  private async sendFrames(peerId: string, type: string, frames: Buffer[]): Promise<boolean> {
    try {
      await this.sock.send([Buffer.from(peerId, 'utf8'), ...frames]);
      return true;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EAGAIN') this.logger.debug('send dropped: the peer is not reading (its queue is full)', { peer: peerId, type });
      else if (code !== 'EHOSTUNREACH') this.logger.warn('send failed', { peer: peerId, type, err });
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    await this.loop?.catch(() => undefined);
    this.dropLog.flush();
    if (this.opts.curve) forgetCurveDomain(this.zapDomain);
  }
}
