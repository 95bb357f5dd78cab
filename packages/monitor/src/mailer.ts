import nodemailer from 'nodemailer';
import type { Store } from '@clover/store';

export interface Mail {
  to: string[];
  subject: string;
  text: string;
  html?: string;
  incidentIds: string[];
}

export interface Mailer {
  /** 'smtp' delivers; 'outbox' keeps the mail in the store for the console. */
  readonly kind: 'smtp' | 'outbox';
  /** Throws when delivery failed; the caller keeps the mail pending and tries again. */
  send(mail: Mail): Promise<void>;
  close(): Promise<void>;
}

export interface MailerOptions {
  smtpUrl?: string;
  from: string;
  store: Pick<Store, 'outbox'>;
  logger?: { info(m: string, c?: Record<string, unknown>): void };
}

/** nodemailer over SMTP when configured; otherwise the store's outbox, which the console shows. */
export function createMailer(opts: MailerOptions): Mailer {
  if (!opts.smtpUrl) {
    return {
      kind: 'outbox',
      async send(mail) {
        await opts.store.outbox.add({
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html ?? null,
          incidentIds: mail.incidentIds,
        });
      },
      async close() {},
    };
  }
  const url = new URL(opts.smtpUrl);
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'smtps:' ? 465 : 25)),
    secure: url.protocol === 'smtps:',
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    // A plain local relay (and the tests' SMTP server) offers no TLS; use it when offered.
    ignoreTLS: url.searchParams.get('tls') === 'off',
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 10_000,
  });
  return {
    kind: 'smtp',
    async send(mail) {
      await transport.sendMail({ from: opts.from, to: mail.to.join(', '), subject: mail.subject, text: mail.text, html: mail.html });
    },
    close() {
      transport.close();
      return Promise.resolve();
    },
  };
}
