// Live sockets under a barrage (issue 16, Fuzzing): a RouterTransport and a DealerTransport each
// take 10,000 random and mutated multipart messages from a raw ZeroMQ peer. Both keep running,
// every bad body is dropped and logged once (alone or in a rate-limited summary), and a valid
// exchange afterwards still goes through.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as zmq from 'zeromq';
import { cleanUp, freePort, waitFor, type CleanupStep } from '@clover/testkit';
import type { Logger } from '@clover/telemetry';
import { DealerTransport, ProtocolError, RouterTransport, decodeAll, type Message } from '../src/index.js';
import { DropLog } from '../src/drop-log.js';
import { wireGarbage } from './arbitraries.js';

const BARRAGE = Number(process.env.FUZZ_FRAMES ?? 10_000);
const opened: CleanupStep[] = [];
after(() => cleanUp(opened.reverse()));

interface Line {
  level: string;
  message: string;
  context: Record<string, unknown>;
}

/** A logger that keeps its lines, for counting. */
function recordingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: string) =>
    (message: string, context: Record<string, unknown> = {}) =>
      void lines.push({ level, message, context });
  const logger: Logger & { lines: Line[] } = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

/** Bad bodies the lines account for: one each for a line logged alone, `count` for a summary. */
function droppedInLog(lines: Line[], message: string): { alone: number; summarized: number } {
  let alone = 0;
  let summarized = 0;
  for (const line of lines) {
    if (line.message === message) alone++;
    else if (line.message.startsWith(`${message}: `)) summarized += line.context.count as number;
  }
  return { alone, summarized };
}

/**
 * Every bad body is in the log once, alone or counted in a summary; at most 20 lines alone (the
 * rate limit: two windows' worth); and the receive loop never logged its own end.
 */
function assertLoggedOnce(lines: Line[], message: string, bad: number, loopEnded: string): void {
  const logged = droppedInLog(lines, message);
  assert.equal(logged.alone + logged.summarized, bad, 'each bad body is logged once, alone or counted in a summary');
  assert.ok(logged.alone <= 20, `rate-limited: ${logged.alone} lines logged one by one`);
  assert.ok(
    lines.every((l) => l.message !== loopEnded),
    'the receive loop never ended',
  );
}

/** What decodeAll makes of `frames`: bad bodies (or 1 for a message refused whole) and good ones. */
function expected(frames: Buffer[]): { bad: number; good: number } {
  try {
    const { messages, dropped } = decodeAll(frames);
    return { bad: dropped.length, good: messages.length };
  } catch {
    return { bad: 1, good: 0 };
  }
}

/** The barrage: random and mutated messages, the same each run (a fixed seed), so a failure replays. */
const barrage = (): Buffer[][] => fc.sample(wireGarbage, { numRuns: BARRAGE, seed: 16 });

test('DropLog: the first drops of a window are logged one by one, the rest in one summary line per window', async () => {
  let now = 1_000;
  const logger = recordingLogger();
  const log = new DropLog({ logger, message: 'dropped', perWindow: 3, windowMs: 1000, now: () => now });
  for (let i = 0; i < 10; i++) log.drop(new ProtocolError(i % 2 ? 'json' : 'schema', `bad ${i}`), { peer: 'p' });
  assert.deepEqual(
    logger.lines.map((l) => [l.message, l.context.reason, l.context.peer]),
    [
      ['dropped', 'bad 0', 'p'],
      ['dropped', 'bad 1', 'p'],
      ['dropped', 'bad 2', 'p'],
    ],
  );
  now += 1000;
  // The next window's first drop logs the last window's summary, then itself.
  log.drop(new Error('not a protocol error'));
  assert.equal(logger.lines.length, 5);
  const [summary, next] = logger.lines.slice(3);
  assert.equal(summary?.message, 'dropped: 7 more not logged one by one');
  assert.deepEqual(summary.context.byReason, { json: 4, schema: 3 });
  assert.equal(next?.context.reason, 'not a protocol error');
  log.flush();
  assert.equal(logger.lines.length, 5, 'nothing left to summarize');

  // With no drop after it, a window's summary still goes out, by a timer at the window's end.
  const timed = recordingLogger();
  const real = new DropLog({ logger: timed, message: 'dropped', perWindow: 1, windowMs: 50 });
  real.drop(new ProtocolError('json', 'a'));
  real.drop(new ProtocolError('json', 'b'));
  real.drop(new ProtocolError('size', 'c'));
  await waitFor(() => timed.lines.length === 2, { timeoutMs: 5000, message: 'the summary line' });
  assert.deepEqual(timed.lines.at(1)?.context.byReason, { json: 1, size: 1 });
});

test(`a live ROUTER takes ${BARRAGE} random and mutated messages: it keeps serving, drops and logs each bad body once`, async () => {
  const logger = recordingLogger();
  const inbox: Array<[string, Message]> = [];
  const invalid: ProtocolError[] = [];
  const router = new RouterTransport({
    bind: `tcp://127.0.0.1:${await freePort()}`,
    logger,
    onMessage: (peer, msg) => {
      inbox.push([peer, msg]);
      // A handler that throws on what it gets must not end the loop either.
      if (msg.type === 'HELLO') throw new Error('handler failure');
    },
    onInvalid: (_peer, err) => {
      invalid.push(err);
      if (invalid.length % 2) throw new Error('onInvalid failure');
    },
  });
  await router.start();
  opened.push(['router', () => router.close()]);

  const raw = new zmq.Dealer({ routingId: 'fuzzer', linger: 0 });
  opened.push(['raw dealer', () => raw.close()]);
  raw.connect(router.endpoint);
  const messages = barrage();
  const want = messages.map(expected).reduce((a, b) => ({ bad: a.bad + b.bad, good: a.good + b.good }), { bad: 0, good: 0 });
  assert.ok(want.bad > BARRAGE / 2, `the barrage is mostly bad (${want.bad} bad bodies)`);
  for (const frames of messages) await raw.send(frames);

  const dropped = () => [...router.dropped.values()].reduce((a, b) => a + b, 0);
  await waitFor(() => dropped() === want.bad && inbox.length === want.good, {
    timeoutMs: 60_000,
    message: 'the router to read the barrage',
  });
  assert.equal(invalid.length, want.bad, 'onInvalid heard of every bad body');

  // Still serving: a real agent's DEALER gets through and is answered.
  const answers: Message[] = [];
  const dealer = new DealerTransport({ id: 'agent-after', onMessage: (m) => answers.push(m) });
  opened.push(['dealer', () => dealer.close()]);
  dealer.connect(router.endpoint);
  await waitFor(
    () => dealer.send({ type: 'PING', body: { nonce: 'after', sentAt: 1 } }).then(() => inbox.some(([p]) => p === 'agent-after')),
    {
      timeoutMs: 10_000,
      message: 'a PING after the barrage',
    },
  );
  assert.equal(await router.send('agent-after', { type: 'PONG', body: { nonce: 'after', sentAt: 1 } }), true);
  await waitFor(() => answers.length > 0, { timeoutMs: 10_000, message: 'the PONG' });

  await router.close();
  assertLoggedOnce(logger.lines, 'dropped a malformed frame', want.bad, 'router receive loop ended');
});

test(`a live agent DEALER takes ${BARRAGE} random and mutated messages: it keeps reading, drops and logs each bad body once`, async () => {
  const raw = new zmq.Router({ linger: 0, mandatory: true });
  opened.push(['raw router', () => raw.close()]);
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  await raw.bind(endpoint);
  const logger = recordingLogger();
  const inbox: Message[] = [];
  const dealer = new DealerTransport({
    id: 'agent-fuzzed',
    logger,
    onMessage: (msg) => {
      inbox.push(msg);
      if (msg.type === 'EXEC') throw new Error('handler failure');
    },
  });
  opened.push(['dealer', () => dealer.close()]);
  dealer.connect(endpoint);

  // The ROUTER learns the agent's routing id from its first message, as a dispatch-server does.
  const hello = raw.receive();
  await waitFor(() => dealer.send({ type: 'PING', body: { nonce: 'hi', sentAt: 1 } }), { timeoutMs: 10_000, message: 'the first PING' });
  const [peer] = await hello;
  assert.equal(peer?.toString(), 'agent-fuzzed');

  const messages = barrage();
  const want = messages.map(expected).reduce((a, b) => ({ bad: a.bad + b.bad, good: a.good + b.good }), { bad: 0, good: 0 });
  for (const frames of messages) await raw.send([Buffer.from('agent-fuzzed'), ...frames]);
  await waitFor(() => dealer.dropped === want.bad && inbox.length === want.good, {
    timeoutMs: 60_000,
    message: 'the dealer to read the barrage',
  });

  // Still reading: a valid message after the barrage arrives.
  await raw.send([
    Buffer.from('agent-fuzzed'),
    Buffer.from('1'),
    Buffer.from('PING'),
    Buffer.from(JSON.stringify({ nonce: 'after', sentAt: 2 })),
  ]);
  await waitFor(() => inbox.some((m) => m.type === 'PING' && m.body.nonce === 'after'), { timeoutMs: 10_000, message: 'the PING after' });

  await dealer.close();
  assertLoggedOnce(logger.lines, 'dropped a malformed frame from the server', want.bad, 'dealer receive loop ended');
});
