import { useEffect, useState } from 'react';

/** The most of a run's live output the page keeps, in characters: the server's tail is 64 KiB. */
const keepChars = 64 * 1024;

/** `GET /api/runs/:id/output/stream`'s `output` event (console-api routes/output-stream.ts). */
interface OutputEvent {
  text: string;
  reset: boolean;
}

/**
 * The output of a running run as it is produced, from the console API's server-sent events
 * (the session cookie goes with them, as with every same-origin request). Streams while `active`
 * (the run is not over); the text so far stays once it ends, and the run's own `outputTail` is
 * then the final word. Null until the first output arrives.
 */
export function useLiveOutput(runId: string, active: boolean): string | null {
  const [text, setText] = useState<string | null>(null);
  useEffect(() => {
    if (!active || typeof EventSource === 'undefined') return;
    const source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/output/stream`);
    source.addEventListener('output', (e: MessageEvent<string>) => {
      const event = JSON.parse(e.data) as OutputEvent;
      setText((before) => {
        const next = event.reset || before === null ? event.text : before + event.text;
        return next.length > keepChars ? next.slice(-keepChars) : next;
      });
    });
    source.addEventListener('end', () => source.close());
    return () => source.close();
  }, [runId, active]);
  return text;
}
