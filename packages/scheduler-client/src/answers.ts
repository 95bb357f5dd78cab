import type { Message } from '@clover/protocol';

/**
 * The agent's answers to EXEC and PING (an ACK, a RESULT in an ACK's place, a PONG), sent in
 * the order those arrived: the leader tells a lost EXEC from a busy agent by that order
 * (docs/protocol.md). They go out at the end of the event loop's turn, each built only then,
 * so an execution that is over by then is answered by its RESULT alone: a quick run costs the
 * wire and the leader one message instead of three.
 */
export class OrderedAnswers {
  private queue: Array<() => Message> = [];
  private scheduled = false;

  /** `send` gets a turn's answers together, so it may put those of one type in one message. */
  constructor(private readonly send: (msgs: Message[]) => void) {}

  push(answer: () => Message): void {
    this.queue.push(answer);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends what is queued now (before a BYE, say). */
  flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    if (queue.length) this.send(queue.map((answer) => answer()));
  }
}
