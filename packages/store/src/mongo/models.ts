import mongoose, { Schema, type Connection } from 'mongoose';

const any = Schema.Types.Mixed;
const opts = { versionKey: false as const, strict: false as const };

/*
 * What each collection's documents hold, as this store writes them. A Mixed field (`doc`, `context`,
 * `shares`) is `unknown`: what comes back is validated by its model schema before use.
 */
interface Doc {
  _id: string;
  doc: unknown;
}
interface JobDoc extends Doc {
  name: string;
  description: string;
  group: string;
  enabled: boolean;
  createdAt: Date;
  /** The job id's 32-bit hash (@clover/partitions `jobHash`): a partition is a range of it. */
  hash: number;
}
interface StoredRun {
  _id: string;
  jobId: string;
  scheduledAt: Date;
  dispatchedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  node: string | null;
  attempt: number;
  trigger: string;
  status: string;
  exitCode: number | null;
  outputTail: string;
  error: string | null;
  /** Run.leaderTerm: the fencing token of the leader that wrote it last. */
  leaderTerm: number | null;
}
interface PartitionFenceDoc {
  _id: number;
  incarnation: number;
  epoch: number;
}
interface TallyDoc {
  _id: string;
  at: Date;
  claimedAt?: Date;
  shares: unknown;
}
interface CounterDoc {
  jobId: string;
  hour: Date;
  status: string;
  n: number;
}
interface SessionDoc extends Doc {
  expiresAt: Date;
}
interface TokenDoc extends Doc {
  hash: string;
}
interface IncidentDoc extends Doc {
  kind: string;
  subject: string;
  openedAt: Date;
  closedAt: Date | null;
  notifiedAt: Date | null;
  recoveryNotifiedAt: Date | null;
}
interface LogDoc {
  _id: string;
  time: Date;
  level: string;
  levelRank: number;
  source: string;
  node: string | null;
  message: string;
  context: unknown;
  /** The entry's words (log-words.ts), for search; entries from before it get them at open (logs.ts). */
  words?: string[];
}
interface LiveOutputDoc {
  _id: string;
  jobId: string;
  execId: string;
  text: string;
  end: number;
  updatedAt: Date;
}
interface OutboxDoc extends Doc {
  createdAt: Date;
}
interface AuditDoc extends Doc {
  at: Date;
  user: string;
  method: string;
  path: string;
  target: string | null;
}

/**
 * Mongoose models on one connection: ids are `_id`, dates are Dates, nested values Mixed.
 * `retention.ttl` false (a server without TTL indexes, see capabilities.ts) keeps the same keys
 * as plain indexes: the store's own sweeper then deletes by them.
 */
export function defineModels(conn: Connection, retention: { runsSec: number; logsSec: number; ttl: boolean }) {
  const expiring = (seconds: number, name: string) => (retention.ttl ? { expireAfterSeconds: seconds, name } : { name: `${name}_sweep` });
  const jobs = new Schema<JobDoc>(
    { _id: String, name: String, description: String, group: String, enabled: Boolean, createdAt: Date, hash: Number, doc: any },
    opts,
  );
  jobs.index({ enabled: 1 });
  // A dispatch-server loads the jobs of its partitions as hash ranges (listByHash).
  jobs.index({ hash: 1, _id: 1 });
  jobs.index({ group: 1, _id: -1 });

  const runs = new Schema<StoredRun>(
    {
      _id: String,
      jobId: String,
      scheduledAt: Date,
      dispatchedAt: Date,
      startedAt: Date,
      finishedAt: Date,
      node: String,
      attempt: Number,
      trigger: String,
      status: String,
      exitCode: Number,
      outputTail: String,
      error: String,
      leaderTerm: Number,
    },
    opts,
  );
  runs.index({ jobId: 1, scheduledAt: -1, _id: -1 });
  runs.index({ status: 1, scheduledAt: -1, _id: -1 });
  runs.index({ node: 1, scheduledAt: -1, _id: -1 });
  runs.index({ scheduledAt: -1, _id: -1 });
  // Retention: MongoDB removes old runs itself; elsewhere the store's sweeper does.
  runs.index({ scheduledAt: 1 }, expiring(retention.runsSec, 'runs_ttl'));

  const counters = new Schema<CounterDoc>({ jobId: String, hour: Date, status: String, n: Number }, opts);
  counters.index({ jobId: 1, hour: 1, status: 1 }, { unique: true });
  // An hour's counters expire an hour after its last runs do, so retention keeps them in step.
  counters.index({ hour: 1 }, expiring(retention.runsSec + 3600, 'counters_ttl'));

  // Live outputs of running runs (LiveOutputRepository), by run id; they expire with the runs.
  const liveOutputs = new Schema<LiveOutputDoc>(
    { _id: String, jobId: String, execId: String, text: String, end: Number, updatedAt: Date },
    opts,
  );
  liveOutputs.index({ jobId: 1 });
  liveOutputs.index({ updatedAt: 1 }, expiring(retention.runsSec, 'run_outputs_ttl'));

  // Write-ahead records of run batches whose counts are being applied (runs.ts); short-lived.
  const tallies = new Schema<TallyDoc>({ _id: String, at: Date, claimedAt: Date, shares: any }, opts);
  tallies.index({ at: 1 });

  // The highest token seen per partition (RunRepository.fencePartitions), keyed by partition.
  const partitionFences = new Schema<PartitionFenceDoc>({ _id: Number, incarnation: Number, epoch: Number }, opts);

  const docs = new Schema<Doc>({ _id: String, doc: any }, opts);
  const users = new Schema<Doc>({ _id: String, doc: any }, opts);
  const sessions = new Schema<SessionDoc>({ _id: String, expiresAt: Date, doc: any }, opts);
  sessions.index({ expiresAt: 1 }, expiring(0, 'sessions_ttl'));
  const tokens = new Schema<TokenDoc>({ _id: String, hash: String, doc: any }, opts);
  tokens.index({ hash: 1 }, { unique: true });

  const incidents = new Schema<IncidentDoc>(
    { _id: String, kind: String, subject: String, openedAt: Date, closedAt: Date, notifiedAt: Date, recoveryNotifiedAt: Date, doc: any },
    opts,
  );
  incidents.index({ kind: 1, subject: 1, closedAt: 1 });
  incidents.index({ openedAt: -1, _id: -1 });
  incidents.index({ notifiedAt: 1 });

  const logs = new Schema<LogDoc>(
    {
      _id: String,
      time: Date,
      level: String,
      levelRank: Number,
      source: String,
      node: String,
      message: String,
      context: any,
      words: [String],
    },
    opts,
  );
  logs.index({ time: -1, _id: -1 });
  logs.index({ levelRank: 1, time: -1 });
  // Search (logs.ts): multikey, one key per word; a prefix regex on words reads one range of it.
  logs.index({ words: 1, time: -1 });
  logs.index({ time: 1 }, expiring(retention.logsSec, 'logs_ttl'));

  const outbox = new Schema<OutboxDoc>({ _id: String, createdAt: Date, doc: any }, opts);
  outbox.index({ createdAt: -1, _id: -1 });

  const audit = new Schema<AuditDoc>({ _id: String, at: Date, user: String, method: String, path: String, target: String, doc: any }, opts);
  audit.index({ at: -1, _id: -1 });
  audit.index({ user: 1, at: -1, _id: -1 });

  return {
    jobs: conn.model('Job', jobs, 'jobs'),
    runs: conn.model('Run', runs, 'runs'),
    tallies: conn.model('RunTally', tallies, 'run_tallies'),
    partitionFences: conn.model('PartitionFence', partitionFences, 'partition_fences'),
    liveOutputs: conn.model('RunOutput', liveOutputs, 'run_outputs'),
    counters: conn.model('RunCounter', counters, 'run_counters'),
    contacts: conn.model('Contact', docs, 'contacts'),
    users: conn.model('User', users, 'users'),
    sessions: conn.model('Session', sessions, 'sessions'),
    tokens: conn.model('ApiToken', tokens, 'api_tokens'),
    incidents: conn.model('Incident', incidents, 'incidents'),
    logs: conn.model('LogEntry', logs, 'logs'),
    outbox: conn.model('OutboxMail', outbox, 'outbox'),
    audit: conn.model('AuditEntry', audit, 'audit'),
  };
}

export type Models = ReturnType<typeof defineModels>;
export { mongoose };
