import { decodeAll } from './codec.js';
import type { Message } from './messages.js';
import { turnTaker } from './turns.js';

/** Where a receive loop's bodies go. */
export interface BodySink {
  /** A message, or one of its bodies, that did not decode. */
  dropped(err: unknown): void;
  message(msg: Message): void;
  /** The message handler threw; the loop goes on. */
  threw(msg: Message, err: unknown): void;
}

/**
 * What both receive loops (router and dealer) do with each ZeroMQ message: decode its bodies,
 * count them in `received`, drop a bad body alone, hand each good one on, and answer the pause
 * the loop must await (every 256 bodies, see turnTaker) or null.
 */
export function bodyDeliverer(received: { messages: number; bodies: number }): (frames: Buffer[], sink: BodySink) => Promise<void> | null {
  const pauseAfter = turnTaker();
  return (frames, sink) => {
    let decoded: ReturnType<typeof decodeAll>;
    try {
      decoded = decodeAll(frames);
    } catch (err) {
      sink.dropped(err);
      return null;
    }
    received.messages++;
    received.bodies += decoded.messages.length;
    for (const err of decoded.dropped) sink.dropped(err);
    for (const msg of decoded.messages) {
      try {
        sink.message(msg);
      } catch (err) {
        sink.threw(msg, err);
      }
    }
    return pauseAfter(decoded.messages.length);
  };
}
