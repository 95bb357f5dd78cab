/** Bodies handled in a row before a receive loop lets the event loop turn. */
const yieldEvery = 256;

/**
 * For a receive loop: messages already queued are read without a turn of the event loop in
 * between, and one can carry a thousand bodies. Told how many bodies each message had, this
 * answers a pause (one setImmediate) every 256 of them, so timers (a slot's EXECs), store
 * writes and answers sent at the end of a turn get theirs; null otherwise.
 */
export function turnTaker(): (bodies: number) => Promise<void> | null {
  let handled = 0;
  return (bodies) => {
    if ((handled += bodies) < yieldEvery) return null;
    handled = 0;
    return new Promise((resolve) => setImmediate(resolve));
  };
}
