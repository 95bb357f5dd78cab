import type { Incident, MailLanguage } from '@clover/model';
import { mailWords } from './mail-words.js';
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
const secs = (ms: unknown, c: MailContext = {}) => (typeof ms === 'number' ? `${(ms / 1000).toFixed(1)} s` : mailWords(c.language).unknown);

/**
 * What a mail needs besides the incidents: `consoleUrl`, the console's root (links go to the job's
 * page, `/jobs/<id>`, or to the incidents page), and `jobNames`, job id → name (a deleted job keeps its id).
 */
export interface MailContext {
  consoleUrl?: string | undefined;
  jobNames?: ReadonlyMap<string, string>;
  /** The language the mail is written in (default English); the incident's own message stays as it was recorded. */
  language?: MailLanguage | undefined;
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
  const w = mailWords(c.language);
  if (i.kind === 'job_failed') {
    return [
      [w.facts.job, `${jobName(i, c)} (${i.jobId ?? i.subject})`],
      [w.facts.run, i.runId ?? '-'],
      [w.facts.node, shown(d.node)],
      [w.facts.attempt, shown(d.attempt)],
      [w.facts.when, i.openedAt.toISOString()],
    ];
  }
  const running = Array.isArray(d.running) ? (d.running as unknown[]).join(', ') : '';
  return [
    [w.facts.node, `${i.nodeKind ?? ''}/${i.subject}`],
    [w.facts.host, shown(d.host)],
    [w.facts.pid, shown(d.pid)],
    [w.facts.endpoint, shown(d.endpoint)],
    [w.facts.declaredDead, i.openedAt.toISOString()],
    [w.facts.lastBeat, typeof d.lastBeatAt === 'number' ? new Date(d.lastBeatAt).toISOString() : '-'],
    [w.facts.silentFor, secs(d.silentForMs, c)],
    [w.facts.why, d.reason === 'silent' ? w.silent : w.sessionEnded],
    [w.facts.wasRunning, running || w.nothing],
  ];
}

function title(i: Incident, c: MailContext): string {
  const w = mailWords(c.language);
  return i.kind === 'job_failed' ? w.jobFailed(jobName(i, c)) : w.nodeDead(w.kinds[i.nodeKind ?? 'node'] ?? i.nodeKind ?? '', i.subject);
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
        ...(link ? [`    ${mailWords(c.language).facts.open}: ${link}`] : []),
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
        )}</table>${link ? `<p><a href="${esc(link)}">${esc(i.kind === 'job_failed' ? mailWords(c.language).openJob : mailWords(c.language).openIncidents)}</a></p>` : ''}`;
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
      : `[clover] ${mailWords(c.language).incidents(incidents.length)}: ${incidents
          .slice(0, 5)
          .map((i) => (i.kind === 'job_failed' ? jobName(i, c) : i.subject))
          .join(', ')}${incidents.length > 5 ? ', …' : ''}`;
  const w = mailWords(c.language);
  const intro = incidents.length === 1 ? w.openedOne : w.openedMany(incidents.length);
  return { to, subject, ...body(incidents, intro, c), incidentIds: incidents.map((i) => i.id) };
}

/** The mail that tells those who heard of the incidents that they are over. */
export function recoveryMail(to: string[], incidents: Incident[], c: MailContext = {}): Mail {
  const names = incidents.map((i) => (i.kind === 'job_failed' ? jobName(i, c) : i.subject));
  const w = mailWords(c.language);
  const subject =
    incidents.length === 1
      ? `[clover] ${w.recovered}: ${names[0]}`
      : `[clover] ${w.recoveredMany(incidents.length)}: ${names.slice(0, 5).join(', ')}`;
  const intro = incidents
    .map((i) => {
      const span = secs((i.closedAt?.getTime() ?? Date.now()) - i.openedAt.getTime(), c);
      return i.kind === 'job_failed' ? w.jobBack(jobName(i, c), span) : w.nodeBack(i.subject, span);
    })
    .join(' ');
  return { to, subject, ...body(incidents, intro, c), incidentIds: incidents.map((i) => i.id) };
}
