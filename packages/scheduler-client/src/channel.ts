import { DealerTransport, type ClientCurve, type Message } from '@clover/protocol';
import type { Logger } from '@clover/telemetry';
import { OrderedAnswers } from './answers.js';
import { LeaderClock } from './leader-clock.js';
import type { DispatchServerInfo } from './servers.js';

/**
 * An agent's link to one dispatch-server (docs/protocol.md, Several servers): its own DEALER,
 * its own answers in order (a server tells a lost EXEC from a busy agent by the order of the
 * answers on its connection), and its own clock offset (an EXEC's deadline is on the clock of
 * the server that sent it).
 */
export class ServerChannel {
  readonly transport: DealerTransport;
  readonly answers: OrderedAnswers;
  readonly clock = new LeaderClock();
  private closing: Promise<void> | undefined;

  constructor(
    /** The server as ZooKeeper names it now; `follow` updates it. */
    public server: DispatchServerInfo,
    opts: { agentId: string; curve?: ClientCurve; logger: Logger; onMessage: (channel: ServerChannel, msg: Message) => void },
  ) {
    this.transport = new DealerTransport({
      id: opts.agentId,
      curve: opts.curve,
      logger: opts.logger,
      onMessage: (m) => opts.onMessage(this, m),
    });
    this.answers = new OrderedAnswers((msgs) => void this.transport.sendAll(msgs));
    this.follow(server);
  }

  /**
   * Points the channel at the server as ZooKeeper describes it now. Answers true when this is a
   * new life of the server (another candidate znode, or another endpoint): it learns of this
   * agent only from a new HELLO, and may have adopted runs whose RESULTs it never heard.
   */
  follow(server: DispatchServerInfo): boolean {
    const changed = server.node !== this.server.node || server.endpoint !== this.server.endpoint;
    if (server.endpoint !== this.server.endpoint) this.clock.reset();
    this.server = server;
    this.transport.batching = server.batch;
    this.transport.connect(server.endpoint);
    return changed;
  }

  /** Whether anything came from the server in the last `ms` milliseconds. */
  heardWithin(ms: number): boolean {
    const t = this.transport;
    return t.endpoint !== null && t.lastReceivedAt > 0 && Date.now() - t.lastReceivedAt < ms;
  }

  /** Sends the answers still queued, then closes the socket (what it still holds is dropped after 500 ms). Safe twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.answers.flush();
      await this.transport.close();
    })();
    return this.closing;
  }
}
