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

/**
 * What a mail needs besides the incidents: `consoleUrl`, the console's root (links go to the job's
 * page, `/jobs/<id>`, or to the incidents page), and `jobNames`, job id → name (a deleted job keeps its id).
 */
export interface MailContext {
  consoleUrl?: string | undefined;
  jobNames?: ReadonlyMap<string, string>;
}

const jobName = (i: Incident, c: MailContext): string => {
  const id = i.jobId ?? i.subject;
  return c.jobNames?.get(id) ?? id;
};

/** The console page an incident is read on: its job's page, or the incidents list for a node; undefined without a console URL. */
export function incidentLink(i: Incident, c: MailContext): string | undefined {
  if (!c.consoleUrl) return undefined;
  const root = c.consoleUrl.replace(/\/+$/, '');
  return i.kind === 'job_failed' ? `${root}/jobs/${encodeURIComponent(i.jobId ?? i.subject)}` : `${root}/incidents`;
}

function facts(i: Incident, c: MailContext): Array<[string, string]> {
  const d = i.details;
  if (i.kind === 'job_failed') {
    return [
      ['job', `${jobName(i, c)} (${i.jobId ?? i.subject})`],
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

function title(i: Incident, c: MailContext): string {
  return i.kind === 'job_failed' ? `job "${jobName(i, c)}" failed` : `${(i.nodeKind ?? 'node').replace(/s$/, '')} ${i.subject} is dead`;
}

function body(incidents: Incident[], intro: string, c: MailContext): { text: string; html: string } {
  const text = [
    intro,
    '',
    ...incidents.flatMap((i) => {
      const link = incidentLink(i, c);
      return [
        `* ${title(i, c)}: ${i.message}`,
        ...facts(i, c).map(([k, v]) => `    ${k}: ${v}`),
        ...(link ? [`    open: ${link}`] : []),
        '',
      ];
    }),
  ].join('\n');
  const html = `<p>${esc(intro)}</p>${incidents
    .map((i) => {
      const link = incidentLink(i, c);
      return `<h3>${esc(title(i, c))}</h3><p>${esc(i.message)}</p><table>${facts(i, c)
        .map(([k, v]) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`)
        .join(
          '',
        )}</table>${link ? `<p><a href="${esc(link)}">${i.kind === 'job_failed' ? 'Open the job' : 'Open the incidents'} in the clover console</a></p>` : ''}`;
    })
    .join('')}`;
  return { text, html };
}

/** The mail that tells `to` of newly opened incidents: one, or a digest of several. */
export function openingMail(to: string[], incidents: Incident[], c: MailContext = {}): Mail {
  const [only] = incidents;
  const subject =
    incidents.length === 1 && only
      ? `[clover] ${title(only, c)}`
      : `[clover] ${incidents.length} incidents: ${incidents
          .slice(0, 5)
          .map((i) => (i.kind === 'job_failed' ? jobName(i, c) : i.subject))
          .join(', ')}${incidents.length > 5 ? ', …' : ''}`;
  const intro =
    incidents.length === 1 ? 'clover opened an incident.' : `clover opened ${incidents.length} incidents at about the same time.`;
  return { to, subject, ...body(incidents, intro, c), incidentIds: incidents.map((i) => i.id) };
}

/** The mail that tells those who heard of the incidents that they are over. */
export function recoveryMail(to: string[], incidents: Incident[], c: MailContext = {}): Mail {
  const names = incidents.map((i) => (i.kind === 'job_failed' ? jobName(i, c) : i.subject));
  const subject =
    incidents.length === 1 ? `[clover] recovered: ${names[0]}` : `[clover] ${incidents.length} recovered: ${names.slice(0, 5).join(', ')}`;
  const intro = incidents
    .map((i) => {
      const span = secs((i.closedAt?.getTime() ?? Date.now()) - i.openedAt.getTime());
      return i.kind === 'job_failed'
        ? `job "${jobName(i, c)}" succeeded again (failing for ${span}).`
        : `${i.subject} is back (down ${span}).`;
    })
    .join(' ');
  return { to, subject, ...body(incidents, intro, c), incidentIds: incidents.map((i) => i.id) };
}
