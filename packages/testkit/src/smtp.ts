import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface SmtpSink {
  readonly port: number;
  readonly url: string;
  /** Every mail received, parsed, in arrival order (kept across stop/start). */
  readonly messages: ParsedMail[];
  waitForMessages(n: number, timeoutMs?: number): Promise<ParsedMail[]>;
  /** Closes the port, as an SMTP outage would; start() opens the same port again. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * A real SMTP server (the `smtp-server` package) that keeps what it receives for the test to read.
 * With `auth`, it requires SMTP AUTH (PLAIN or LOGIN, over plain TCP: a test has no TLS) with
 * exactly that user and password, and refuses any other. `host`: the address it listens on (default 127.0.0.1).
 */
export async function startSmtpSink(opts: { port?: number; auth?: { user: string; pass: string }; host?: string } = {}): Promise<SmtpSink> {
  const port = opts.port ?? (await freePort());
  const messages: ParsedMail[] = [];
  let server: SMTPServer | null = null;

  const start = async () => {
    if (server) return;
    const s = new SMTPServer({
      authOptional: !opts.auth,
      allowInsecureAuth: Boolean(opts.auth),
      onAuth(auth, _session, callback) {
        const ok = opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass;
        callback(ok ? null : new Error('invalid username or password'), ok ? { user: auth.username } : undefined);
      },
      disabledCommands: ['STARTTLS'],
      logger: false,
      // stop() is an outage: connections a client keeps open (a pooled mailer) are cut after 1 s
      // instead of the default 30 s, so stop() neither waits on them nor lets them linger.
      closeTimeout: 1000,
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then((mail) => {
            messages.push(mail);
            callback();
          })
          .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
      },
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, opts.host ?? '127.0.0.1', () => resolve());
    });
    s.on('error', () => {
      /* a client dropping mid-session is not the test's failure */
    });
    server = s;
  };

  await start();
  return {
    port,
    url: `smtp://${opts.host ?? '127.0.0.1'}:${port}`,
    messages,
    waitForMessages: (n, timeoutMs = 15_000) =>
      waitFor(() => (messages.length >= n ? messages.slice() : undefined), {
        timeoutMs,
        message: `${n} mails at the SMTP sink (have ${messages.length})`,
      }),
    stop: async () => {
      const s = server;
      server = null;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    start,
  };
}
