import { settleWithin } from '@clover/lifecycle';
import * as zmq from 'zeromq';
import { batchesOf, encode, encodeBatch } from './codec.js';
import { bodyDeliverer, type BodySink } from './deliver.js';
import { noopLogger, type Logger } from '@clover/telemetry';
import { DropLog } from './drop-log.js';
import type { Message } from './messages.js';
import { MAX_BODY_BYTES } from './messages.js';

/** A socket that cannot be opened is tried again this often, this many times (DealerTransport.connect). */
const openRetryMs = 200;
const openAttempts = 50;

export interface ClientCurve {
  publicKey: string;
  secretKey: string;
  /** The dispatch-servers' public key. */
  serverKey: string;
}

export interface DealerTransportOptions {
  /** The agent's node id, used as its routing id. */
  id: string;
  onMessage(msg: Message): void;
  curve?: ClientCurve;
  logger?: Logger;
}

/**
 * The agent's end: a DEALER that follows the leader from endpoint to endpoint. Each endpoint gets
 * a socket of its own: ZeroMQ tears a disconnected pipe down in the background, and a DEALER
 * still holding the old leader's pipe (a leader that steps down keeps its socket open while it
 * drains) would hand it the first message meant for the new one (a HELLO lost so).
 */
export class DealerTransport {
  /** The socket to the current endpoint; null before it is opened, and while there is no leader. */
  private sock: zmq.Dealer | null = null;
  private current: string | null = null;
  /** Bumped by every connect(): an open still pending for an older one gives up. */
  private generation = 0;
  private sending: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** The current socket's receive loop; an old socket's ends by itself when it is closed. */
  private loop: Promise<void> = Promise.resolve();
  private readonly logger: Logger;
  /** Malformed frames are logged through it, rate-limited (a server sending garbage fast costs a few lines). */
  private readonly dropLog: DropLog;
  /** The leader followed now reads messages of several bodies (its election znode says so). */
  batching = false;
  /** ZeroMQ messages received and the clover messages (bodies) they carried. */
  readonly received = { messages: 0, bodies: 0 };
  /** Bodies and messages dropped as malformed; for tests and metrics. */
  dropped = 0;
  /** When the endpoint followed now last sent anything, epoch ms (0: nothing yet). */
  lastReceivedAt = 0;

  constructor(private readonly opts: DealerTransportOptions) {
    this.logger = opts.logger ?? noopLogger;
    this.dropLog = new DropLog({ logger: this.logger, message: 'dropped a malformed frame from the server' });
  }

  private open(): zmq.Dealer {
    const opts = this.opts;
    const sock = new zmq.Dealer({
      routingId: opts.id,
      linger: 0,
      // Queue nothing for a peer that is not there: a stale EXEC result is worse than none.
      immediate: true,
      maxMessageSize: MAX_BODY_BYTES + 64 * 1024,
      reconnectInterval: 200,
      reconnectMaxInterval: 2000,
      ...(opts.curve
        ? { curvePublicKey: opts.curve.publicKey, curveSecretKey: opts.curve.secretKey, curveServerKey: opts.curve.serverKey }
        : {}),
    });
    this.loop = this.receive(sock);
    return sock;
  }

  get endpoint(): string | null {
    return this.current;
  }

  /**
   * Points the transport at a new leader (or at none with null); never throws. The old socket is
   * closed now (linger 0: what it still queues is dropped, as a stale EXEC answer should be); the
   * new one is opened on a later turn, and messages sent meanwhile wait for it. Opening a socket
   * inside the caller's turn failed with EINVAL (issue 16's chaos run: ZooKeeper restarted, the
   * agent's leader watch fired from the ZooKeeper client's disconnect callback, and the agent
   * died of the throw): the client's socket is torn down in that turn, and a ZeroMQ socket made
   * then may be given its descriptor number while libuv still watches it. A socket that still
   * cannot be made is retried (every 200 ms, up to 50 times) and logged, never thrown.
   */
  connect(endpoint: string | null): void {
    if (endpoint === this.current || this.closed) return;
    this.current = endpoint;
    // Each connect supersedes the last: a leader lost and found again (A → null → A) opens one
    // socket, never two with the same routing id (the ROUTER takes the second for a stranger).
    const generation = ++this.generation;
    this.lastReceivedAt = 0;
    const old = this.sock;
    this.sock = null;
    old?.close();
    if (endpoint) this.sending = this.sending.then(() => this.openFor(endpoint, generation));
  }

  private async openFor(endpoint: string, generation: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await new Promise((r) => setTimeout(r, attempt === 1 ? 0 : openRetryMs));
      if (this.closed || generation !== this.generation) return;
      try {
        const sock = this.open();
        sock.connect(endpoint);
        this.sock = sock;
        return;
      } catch (err) {
        this.logger.error('could not open a socket to the leader; retrying', { endpoint, attempt, err: String(err) });
        if (attempt >= openAttempts) return;
      }
    }
  }

  private async receive(sock: zmq.Dealer): Promise<void> {
    const deliver = bodyDeliverer(this.received);
    const sink: BodySink = {
      dropped: (err) => {
        this.dropped++;
        this.dropLog.drop(err);
      },
      message: (msg) => this.opts.onMessage(msg),
      threw: (msg, err) => this.logger.error('message handler threw', { type: msg.type, err }),
    };
    try {
      for await (const frames of sock) {
        if (sock === this.sock) this.lastReceivedAt = Date.now();
        const pause = deliver(frames, sink);
        if (pause) await pause;
      }
    } catch (err) {
      if (!this.closed && sock === this.sock) this.logger.error('dealer receive loop ended', { err });
    }
  }

  send(msg: Message): Promise<boolean> {
    return this.sendFrames(msg.type, () => encode(msg));
  }

  /**
   * Several messages in order: to a leader that reads several bodies, consecutive ones of one
   * type as one ZeroMQ message (a turn's answers), else one by one.
   */
  sendAll(msgs: Message[]): Promise<boolean> {
    const sends = this.batching
      ? batchesOf(msgs, (m) => m.type).map((group) => this.sendFrames(group[0].type, () => encodeBatch(group)))
      : msgs.map((m) => this.send(m));
    return Promise.all(sends).then((sent) => sent.every(Boolean));
  }

  private sendFrames(type: string, frames: () => Buffer[]): Promise<boolean> {
    const result = this.sending
      .then(() => (this.closed || !this.current || !this.sock ? false : this.sock.send(frames()).then(() => true)))
      .catch((err: unknown) => {
        this.logger.debug('send failed', { type, err });
        return false;
      });
    this.sending = result;
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let queued sends go out, but never wait on a peer that is not reading.
    await settleWithin(this.sending, 500);
    this.sock?.close();
    await this.loop.catch(() => undefined);
    this.dropLog.flush();
  }
}
