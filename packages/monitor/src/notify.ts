import type { Contact, Incident, MailLanguage } from '@clover/model';
import type { Store } from '@clover/store';
import type { Mail, Mailer } from './mailer.js';
import { openingMail, recoveryMail, type MailContext } from './templates.js';
import type { Logger } from '@clover/telemetry';
import type { MonitorMetrics } from './metrics.js';

export interface NotifierOptions {
  store: Store;
  mailer: Mailer;
  logger: Logger;
  /** The wall clock, epoch ms: the times written into the store. */
  clock: () => number;
  /**
   * A monotonic clock, ms: every wait here (the digest window, the quiet period, the backoff)
   * is measured with it, from what this monitor saw, never from an incident's `openedAt`,
   * which another host's clock may have written (a dispatch-server ten minutes ahead would
   * have its failures held ten minutes).
   */
  monotonic: () => number;
  consoleUrl?: string;
  /**
   * Incidents this monitor sees within this window of each other go out as one digest (default
   * 2 s); none is held longer than five windows.
   */
  digestWindowMs: number;
  /** After a mail about a subject, no other mail about it for this long (default 5 min). */
  quietPeriodMs: number;
  metrics?: Pick<MonitorMetrics, 'mailsSent' | 'mailsFailed' | 'mailsQueued'>;
}

/**
 * Mails incidents to the people on call from what the store says is still unmailed, so a
 * restart or a monitor failover picks up exactly where the last one stopped. A burst of
 * incidents becomes one digest per contact; a flapping node mails once per quiet period;
 * a failed send stays pending and is tried again with backoff.
 */
export class Notifier {
  private readonly lastMailed = new Map<string, number>();
  /** When this monitor first saw each unmailed incident, on the monotonic clock. */
  private readonly firstSeen = new Map<string, number>();
  private failures = 0;
  private nextAttemptAt = 0;
  /** The windows in force: the cluster settings' where they name one, else the options'. */
  private windows: Pick<NotifierOptions, 'digestWindowMs' | 'quietPeriodMs'>;
  /** The cluster's mail language (/clover/config `language`): for a contact who names none. */
  private language: MailLanguage | undefined;
  /** Each recipient's language, as the contacts said at the last read. */
  private languages = new Map<string, MailLanguage | undefined>();

  constructor(private readonly o: NotifierOptions) {
    this.windows = { digestWindowMs: o.digestWindowMs, quietPeriodMs: o.quietPeriodMs };
  }

  /**
   * Applies the cluster settings (/clover/config) from the next tick on: each window they name
   * replaces this notifier's own (its options'); one they leave out goes back to it.
   */
  configure(settings: {
    digestWindowMs?: number | undefined;
    quietPeriodMs?: number | undefined;
    language?: MailLanguage | undefined;
  }): void {
    this.language = settings.language;
    this.windows = {
      digestWindowMs: settings.digestWindowMs ?? this.o.digestWindowMs,
      quietPeriodMs: settings.quietPeriodMs ?? this.o.quietPeriodMs,
    };
  }

  private async recipients(incidents: Incident[]): Promise<Map<string, Incident[]>> {
    const contacts = (await this.o.store.contacts.list()).filter((c) => c.enabled);
    this.languages = new Map(contacts.map((c) => [c.email, c.language]));
    const byEmail = new Map<string, Incident[]>();
    for (const i of incidents) {
      let to: Contact[] = contacts;
      if (i.kind === 'job_failed' && i.jobId) {
        // A job's own contacts when it names any; else everyone on call.
        const job = await this.o.store.jobs.get(i.jobId);
        const named = contacts.filter((c) => job?.contacts.includes(c.id));
        if (named.length) to = named;
      }
      for (const c of to) byEmail.set(c.email, [...(byEmail.get(c.email) ?? []), i]);
    }
    return byEmail;
  }

  /** The console link and the names of the incidents' jobs (read now: a job renamed since the failure is mailed by its new name). */
  private async mailContext(incidents: Incident[]): Promise<MailContext> {
    const jobNames = new Map<string, string>();
    for (const i of incidents) {
      if (i.kind !== 'job_failed' || !i.jobId || jobNames.has(i.jobId)) continue;
      const job = await this.o.store.jobs.get(i.jobId);
      if (job) jobNames.set(i.jobId, job.name);
    }
    return { consoleUrl: this.o.consoleUrl, jobNames };
  }

  /** A recipient's mail language: the contact's own, else the cluster's, else English. */
  private languageOf(email: string): MailLanguage {
    return this.languages.get(email) ?? this.language ?? 'en';
  }

  /** One pass: returns how many mails went out. */
  async tick(): Promise<number> {
    const now = this.o.monotonic();
    if (now < this.nextAttemptAt) return 0;
    let sent = 0;
    try {
      sent += await this.sendOpenings(now);
      sent += await this.sendRecoveries();
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.o.metrics?.mailsFailed.inc();
      const backoff = Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6));
      this.nextAttemptAt = now + backoff;
      this.o.logger.error('could not send incident mail; will retry', {
        err,
        retryInMs: backoff,
        failures: this.failures,
      });
    }
    return sent;
  }

  private async sendOpenings(now: number): Promise<number> {
    const pending = await this.o.store.incidents.listUnnotified();
    this.o.metrics?.mailsQueued.set(pending.length);
    if (!pending.length) return 0;
    const ids = new Set(pending.map((i) => i.id));
    for (const id of this.firstSeen.keys()) if (!ids.has(id)) this.firstSeen.delete(id);
    for (const i of pending) if (!this.firstSeen.has(i.id)) this.firstSeen.set(i.id, now);
    const seen = pending.map((i) => this.firstSeen.get(i.id) ?? now);
    const newest = Math.max(...seen);
    const oldest = Math.min(...seen);
    // Wait for a burst to settle, but never hold a mail back for long.
    if (now - newest < this.windows.digestWindowMs && now - oldest < 5 * this.windows.digestWindowMs) return 0;
    const quiet: Incident[] = [];
    const loud: Incident[] = [];
    for (const i of pending) {
      const last = this.lastMailed.get(i.subject);
      (last !== undefined && now - last < this.windows.quietPeriodMs ? quiet : loud).push(i);
    }
    for (const i of quiet) {
      await this.o.store.incidents.markNotified(i.id, [], new Date(this.o.clock()));
      this.o.logger.info('incident not mailed: quiet period', { incident: i.id, subject: i.subject });
    }
    if (!loud.length) return 0;
    const byEmail = await this.recipients(loud);
    const context = await this.mailContext(loud);
    const delivered = new Map<string, string[]>();
    for (const [email, incidents] of byEmail) {
      await this.deliver(openingMail([email], incidents, { ...context, language: this.languageOf(email) }));
      for (const i of incidents) delivered.set(i.id, [...(delivered.get(i.id) ?? []), email]);
    }
    for (const i of loud) {
      await this.o.store.incidents.markNotified(i.id, delivered.get(i.id) ?? [], new Date(this.o.clock()));
      this.lastMailed.set(i.subject, now);
    }
    return byEmail.size;
  }

  private async sendRecoveries(): Promise<number> {
    const pending = await this.o.store.incidents.listRecoveryUnnotified();
    if (!pending.length) return 0;
    // Tell those who were told of the death.
    const byEmail = new Map<string, Incident[]>();
    for (const i of pending) for (const email of i.notifiedContacts) byEmail.set(email, [...(byEmail.get(email) ?? []), i]);
    const context = await this.mailContext(pending);
    this.languages = new Map((await this.o.store.contacts.list()).map((c) => [c.email, c.language]));
    for (const [email, incidents] of byEmail)
      await this.deliver(recoveryMail([email], incidents, { ...context, language: this.languageOf(email) }));
    for (const i of pending) await this.o.store.incidents.markRecoveryNotified(i.id, new Date(this.o.clock()));
    return byEmail.size;
  }

  private async deliver(mail: Mail): Promise<void> {
    await this.o.mailer.send(mail);
    this.o.metrics?.mailsSent.inc();
    this.o.logger.info('mail sent', { to: mail.to, subject: mail.subject, via: this.o.mailer.kind });
  }
}
