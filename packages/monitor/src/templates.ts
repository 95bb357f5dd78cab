import type { Incident } from '@clover/model';
import type { Mail } from './mailer.js';

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => entities[c] ?? c);
/** A detail as mail text: '-' when missing, strings, numbers and booleans as they are, anything else as JSON. */
const shown = (v: unknown): string =>
  v === undefined || v === null
    ? '-'
    : typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'boolean'
        ? String(v)
        : JSON.stringify(v);
const secs = (ms: unknown) => (typeof ms === 'number' ? `${(ms / 1000).toFixed(1)} s` : 'unknown');

function facts(i: Incident): Array<[string, string]> {
  const d = i.details;
  if (i.kind === 'job_failed') {
    return [
      ['job', i.jobId ?? i.subject],
      ['run', i.runId ?? '-'],
      ['node', shown(d.node)],
      ['attempt', shown(d.attempt)],
      ['when', i.openedAt.toISOString()],
    ];
  }
  const running = Array.isArray(d.running) ? (d.running as unknown[]).join(', ') : '';
  return [
    ['node', `${i.nodeKind ?? ''}/${i.subject}`],
    ['host', shown(d.host)],
    ['pid', shown(d.pid)],
    ['endpoint', shown(d.endpoint)],
    ['declared dead', i.openedAt.toISOString()],
    ['last beat', typeof d.lastBeatAt === 'number' ? new Date(d.lastBeatAt).toISOString() : '-'],
    ['silent for', secs(d.silentForMs)],
    ['why', d.reason === 'silent' ? 'heartbeat stopped advancing (process hung?)' : 'its ZooKeeper session ended'],
    ['was running', running || 'nothing'],
  ];
}

function title(i: Incident): string {
  return i.kind === 'job_failed'
    ? `job ${i.jobId ?? i.subject} failed`
    : `${(i.nodeKind ?? 'node').replace(/s$/, '')} ${i.subject} is dead`;
}

function body(incidents: Incident[], intro: string, consoleUrl?: string): { text: string; html: string } {
  const text = [
    intro,
    '',
    ...incidents.flatMap((i) => [`* ${title(i)}: ${i.message}`, ...facts(i).map(([k, v]) => `    ${k}: ${v}`), '']),
    consoleUrl ? `Console: ${consoleUrl}` : '',
  ].join('\n');
  const html = `<p>${esc(intro)}</p>${incidents
    .map(
      (i) =>
        `<h3>${esc(title(i))}</h3><p>${esc(i.message)}</p><table>${facts(i)
          .map(([k, v]) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`)
          .join('')}</table>`,
    )
    .join('')}${consoleUrl ? `<p><a href="${esc(consoleUrl)}">Open the clover console</a></p>` : ''}`;
  return { text, html };
}

export function openingMail(to: string[], incidents: Incident[], consoleUrl?: string): Mail {
  const [only] = incidents;
  const subject =
    incidents.length === 1 && only
      ? `[clover] ${title(only)}`
      : `[clover] ${incidents.length} incidents: ${incidents
          .slice(0, 5)
          .map((i) => i.subject)
          .join(', ')}${incidents.length > 5 ? ', …' : ''}`;
  const intro =
    incidents.length === 1 ? 'clover opened an incident.' : `clover opened ${incidents.length} incidents at about the same time.`;
  return { to, subject, ...body(incidents, intro, consoleUrl), incidentIds: incidents.map((i) => i.id) };
}

export function recoveryMail(to: string[], incidents: Incident[], consoleUrl?: string): Mail {
  const names = incidents.map((i) => i.subject);
  const subject =
    incidents.length === 1 ? `[clover] recovered: ${names[0]}` : `[clover] ${incidents.length} recovered: ${names.slice(0, 5).join(', ')}`;
  const intro = incidents
    .map((i) => {
      const span = secs((i.closedAt?.getTime() ?? Date.now()) - i.openedAt.getTime());
      return i.kind === 'job_failed' ? `job ${i.subject} succeeded again (failing for ${span}).` : `${i.subject} is back (down ${span}).`;
    })
    .join(' ');
  return { to, subject, ...body(incidents, intro, consoleUrl), incidentIds: incidents.map((i) => i.id) };
}
