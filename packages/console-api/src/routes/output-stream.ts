import type { Request, Response } from 'express';
import { terminalStatuses, type LiveOutput, type Run } from '@clover/model';
import type { ApiDeps } from '../deps.js';

/** How often the stream reads the store for new output, in ms: the leader writes it at most every 500 ms. */
export const OUTPUT_POLL_MS = 500;
/**
 * The longest one stream stays open, in ms (10 minutes): then it ends and the browser's
 * EventSource reconnects (after `retry`), so a forgotten tab holds no connection and no poll for ever.
 */
export const OUTPUT_STREAM_MAX_MS = 10 * 60_000;
/** A comment line this often keeps proxies from closing a quiet stream, in ms. */
const keepAliveMs = 15_000;

const final = new Set<string>(terminalStatuses);

/**
 * The `output` event's data: what is new since the last event, or the whole tail when `reset`
 * (the first event, or the reader missed some).
 */
export interface OutputEvent {
  text: string;
  reset: boolean;
}

/** The `end` event's data: the run is over; its output tail is the final word on its output. */
export interface EndEvent {
  status: Run['status'];
  outputTail: string;
}

/**
 * `GET /api/runs/:id/output/stream`: the output of a running run as server-sent events, read
 * from the store (`store.liveOutputs`, which the leading dispatch-server writes at most every
 * 500 ms per run), so any console-api process serves it. Events: `output` ({@link OutputEvent}),
 * at once with what there is and then with what is new; `end` ({@link EndEvent}) when the run is
 * over, after which the stream closes. It closes too after OUTPUT_STREAM_MAX_MS (the EventSource
 * reconnects) and when the reader goes. The run must exist (the caller answers 404 otherwise).
 */
export function streamRunOutput(d: ApiDeps, run: Run, req: Request, res: Response): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    // nginx buffers a response unless told not to; a live view must not wait for a buffer to fill.
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  let sentEnd = 0;
  let sentAt = 0;
  const state = { closed: false };
  /** A function, not the field: TypeScript would keep a test of the field narrowed across the awaits. */
  const closed = () => state.closed;
  let timer: NodeJS.Timeout | null = null;
  const openedAt = d.clock();
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const stop = () => {
    state.closed = true;
    if (timer) clearTimeout(timer);
    res.end();
  };
  req.on('close', () => {
    state.closed = true;
    if (timer) clearTimeout(timer);
  });
  const newOutput = (live: LiveOutput | null): OutputEvent | null => {
    if (!live || live.end <= sentEnd) return null;
    const fresh = live.end - sentEnd;
    const event =
      sentEnd === 0 || fresh > live.text.length ? { text: live.text, reset: true } : { text: live.text.slice(-fresh), reset: false };
    sentEnd = live.end;
    return event;
  };
  const tick = async () => {
    timer = null;
    if (closed()) return;
    try {
      // The run first: output written before it ended is then read after, and none is missed.
      const current = (await d.store.runs.get(run.id)) ?? run;
      const live = await d.store.liveOutputs.get(run.id);
      if (closed()) return;
      const event = newOutput(live);
      if (event) {
        send('output', event);
        sentAt = d.clock();
      }
      if (final.has(current.status)) {
        send('end', { status: current.status, outputTail: current.outputTail } satisfies EndEvent);
        stop();
        return;
      }
      if (d.clock() - openedAt >= OUTPUT_STREAM_MAX_MS) {
        stop();
        return;
      }
      if (d.clock() - sentAt >= keepAliveMs) {
        res.write(': still running\n\n');
        sentAt = d.clock();
      }
    } catch (err) {
      d.logger.warn('live output stream: could not read the store', { runId: run.id, err });
    }
    if (!closed()) timer = setTimeout(() => void tick(), OUTPUT_POLL_MS);
  };
  void tick();
}
