import type {
  ActiveStatus,
  ApiToken,
  AuditEntry,
  AuditEntryInput,
  Contact,
  ContactInput,
  Incident,
  IncidentInput,
  Job,
  JobRunState,
  JobSpec,
  LogEntry,
  LogEntryInput,
  LiveOutput,
  LogLevel,
  OutboxMail,
  OutboxMailInput,
  Run,
  RunInput,
  RunPatch,
  RunStatus,
  Grant,
  Role,
  Session,
  User,
  UserInput,
} from '@clover/model';
import type { DuplicateRunError } from './errors.js';

export interface Page<T> {
  items: T[];
  /** Opaque; pass it back to get the next page. Null on the last page. */
  nextCursor: string | null;
}

export interface PageQuery {
  cursor?: string | null;
  /** Default 50, at most 1000. */
  limit?: number;
}

export interface JobQuery extends PageQuery {
  /** Text in the name or description. */
  q?: string;
  group?: string;
  enabled?: boolean;
}

/** Half-open range [from, to) of 32-bit job hashes (@clover/partitions `jobHash`). */
export interface HashRange {
  from: number;
  to: number;
}

/** The jobs of some partitions, for the dispatch-server that owns them (docs/architecture.md, "Scale-out: partitions"). */
export interface JobHashQuery extends PageQuery {
  /**
   * The job hashes wanted: ascending ranges that do not overlap, as @clover/partitions
   * `hashRanges(partitions, count)` gives them for a server's partitions. RangeError otherwise.
   */
  ranges: HashRange[];
  enabled?: boolean;
}

export interface JobRepository {
  create(spec: JobSpec): Promise<Job>;
  get(id: string): Promise<Job | null>;
  /** Newest first. */
  list(query?: JobQuery): Promise<Page<Job>>;
  listEnabled(): Promise<Job[]>;
  /**
   * The jobs whose hash is in the query's ranges, by (hash, id) ascending, a page at a time (at
   * most 1000): how a dispatch-server loads only the jobs of its partitions. Each range is one
   * scan of the (hash, id) index. The store keeps each job's hash, written with the job.
   */
  listByHash(query: JobHashQuery): Promise<Page<Job>>;
  /** Replaces the spec; keeps id, createdAt and the scheduler's fields. */
  replace(id: string, spec: JobSpec): Promise<Job | null>;
  setEnabled(id: string, enabled: boolean): Promise<Job | null>;
  /** What the scheduler maintains: last run, status, next run, counts (as deltas). */
  recordRunState(id: string, state: JobRunState): Promise<void>;
  /** Many recordRunState calls in order, in one transaction where the store has them. */
  recordRunStates(items: Array<{ id: string; state: JobRunState }>): Promise<void>;
  /** Removes the job with its runs and counters. */
  delete(id: string): Promise<boolean>;
  counts(): Promise<{ total: number; enabled: number }>;
}

export interface RunQuery extends PageQuery {
  jobId?: string;
  status?: RunStatus;
  node?: string;
  from?: Date;
  to?: Date;
}

export interface RunRepository {
  /** DuplicateRunError when the id exists: another leader already fired that slot. */
  insert(run: RunInput): Promise<Run>;
  /**
   * Many at once (bulk imports, benchmarks): every run whose id is new goes in, with its counts;
   * the ids that existed already are answered in `duplicates`, in input order, and change nothing.
   */
  insertMany(runs: RunInput[]): Promise<InsertManyResult>;
  /**
   * Inserts each run, in one transaction where the store has them, and answers for each on its
   * own: the stored Run, or a DuplicateRunError when that slot exists (the others still go in).
   * A dispatch-server writes a second's burst of fires this way.
   */
  insertEach(runs: RunInput[]): Promise<Array<Run | DuplicateRunError>>;
  /**
   * Applies the patch; `jobState` (optional) is what this transition means for the run's job
   * (its counts, last status): written with the run, both or neither, exactly once, even when the
   * writer dies between the two writes (see `Store.reconcile`).
   */
  update(id: string, patch: RunPatch, jobState?: JobRunState): Promise<Run | null>;
  /** Many updates in order, in one transaction where the store has them; null for a missing run. */
  updateEach(items: Array<{ id: string; patch: RunPatch }>): Promise<Array<Run | null>>;
  get(id: string): Promise<Run | null>;
  /** Newest scheduledAt first. */
  list(query?: RunQuery): Promise<Page<Run>>;
  /** Runs not over yet (`activeStatuses`: scheduled, waiting, dispatched, running), optionally of one job or node. */
  listActive(filter?: { jobId?: string; node?: string }): Promise<Run[]>;
  /**
   * How many runs are in `status`, and the one scheduled first (earliest `scheduledAt`, then
   * smallest id): the dashboard's waiting backlog. Both come from the status index (SQLite
   * `runs_unsucceeded_time`, MongoDB `{ status, scheduledAt, _id }`): a count over that status's
   * range and its first entry, never a scan of the other runs.
   */
  backlog(status: ActiveStatus): Promise<RunBacklog>;
  /**
   * Takes open runs for a leader term: each of `runIds` (default: every open run) that is still
   * open gets `leaderTerm = term`, so a write of an earlier term that reaches the store later
   * changes none of them (`RunWrites.term`). A new leader calls it before it reads the runs it
   * adopts; its orphan sweep, for the runs it adopts then. A fence only raises a run's term,
   * never lowers it: a deposed leader's own fence that reaches the store late (it passed its lead
   * check, then paused) took runs back from the next leader when it stamped every open run
   * whatever its term (mongo-java-server's chaos run, SIGSTOP). So a rebuilt ZooKeeper, whose
   * sequence numbers begin again, leaves the open runs of the terms before it to be refused
   * (`clover_store_writes_fenced_total` says so) until an operator closes them.
   * @returns how many runs it stamped.
   */
  fence(term: number, runIds?: string[]): Promise<number>;
  /**
   * Raises the fence of each partition named to its token, where the token is higher than the
   * fence (compared as (incarnation, epoch), in that order); a lower or equal one changes
   * nothing. A dispatch-server that shares the jobs out calls it when it acquires partitions,
   * before it reads their runs: from then on the writes of an earlier owner of those partitions
   * (`RunWrites.partitions`) are refused (docs/architecture.md, "Fencing", layer 3).
   * @returns how many fences it raised.
   */
  fencePartitions(tokens: PartitionToken[]): Promise<number>;
  /** The fence of each partition asked for that has one, ascending (for tests and diagnosis). */
  partitionFences(partitions: number[]): Promise<PartitionToken[]>;
  deleteOlderThan(cutoff: Date): Promise<number>;
}

/**
 * The output of running runs, as the leading dispatch-server last wrote it (model `LiveOutput`),
 * one record per run, for the console's live view. Removed with the job and by the run retention
 * (by `updatedAt`).
 */
export interface LiveOutputRepository {
  /** Writes the run's live output, replacing what was there. */
  put(output: LiveOutput): Promise<void>;
  /** Null when the run has none (it printed nothing while running, or it is gone). */
  get(runId: string): Promise<LiveOutput | null>;
}

/** `RunRepository.backlog`'s answer. */
export interface RunBacklog {
  count: number;
  /** Null when there is none. */
  oldest: Run | null;
}

export interface InsertManyResult {
  inserted: number;
  /** Ids that were already stored, in input order. */
  duplicates: string[];
}

export type StatusCounts = Partial<Record<RunStatus, number>>;

export interface CounterSummary {
  hours: Array<{ hour: Date; counts: StatusCounts }>;
  totals: StatusCounts;
}

/** Runs per (job, hour of scheduledAt, terminal status), kept on write so nobody counts runs. */
export interface CounterRepository {
  summary(query: { from: Date; to: Date; jobId?: string }): Promise<CounterSummary>;
}

export interface ContactRepository {
  list(): Promise<Contact[]>;
  get(id: string): Promise<Contact | null>;
  create(input: ContactInput): Promise<Contact>;
  update(id: string, input: ContactInput): Promise<Contact | null>;
  delete(id: string): Promise<boolean>;
}

export interface UserRepository {
  get(name: string): Promise<User | null>;
  list(): Promise<User[]>;
  /** DuplicateError when the name is taken. `grants` default to none. */
  create(user: UserInput): Promise<User>;
  setPassword(name: string, passwordHash: string): Promise<boolean>;
  /** Changes a user's role, grants or disabled flag; the user as stored after, or null when there is none. */
  setAccess(name: string, access: { role?: Role; grants?: Grant[]; disabled?: boolean }): Promise<User | null>;
  delete(name: string): Promise<boolean>;
  count(): Promise<number>;
}

export interface SessionRepository {
  create(session: Session): Promise<void>;
  get(id: string): Promise<Session | null>;
  delete(id: string): Promise<void>;
  deleteExpired(now: Date): Promise<number>;
}

export interface TokenRepository {
  create(token: ApiToken): Promise<void>;
  findByHash(hash: string): Promise<ApiToken | null>;
  list(): Promise<ApiToken[]>;
  delete(id: string): Promise<boolean>;
}

export interface IncidentQuery extends PageQuery {
  open?: boolean;
  kind?: Incident['kind'];
}

export interface IncidentRepository {
  open(input: Omit<IncidentInput, 'id'>): Promise<Incident>;
  get(id: string): Promise<Incident | null>;
  /** The open incident of this kind about this subject, if any. */
  findOpen(kind: Incident['kind'], subject: string): Promise<Incident | null>;
  /** Newest first. */
  list(query?: IncidentQuery): Promise<Page<Incident>>;
  /** Incidents whose opening mail has not gone out yet, oldest first. */
  listUnnotified(): Promise<Incident[]>;
  /** Closed incidents whose recovery mail has not gone out yet. */
  listRecoveryUnnotified(): Promise<Incident[]>;
  markNotified(id: string, contacts: string[], at: Date): Promise<void>;
  markRecoveryNotified(id: string, at: Date): Promise<void>;
  /** Closes it (once: a closed incident stays as it was); `by`: who closed it by hand. */
  close(id: string, at: Date, by?: string): Promise<Incident | null>;
  /** Marks it taken on by `by` at `at` (once: the first acknowledgement stands); null when there is none. */
  acknowledge(id: string, by: string, at: Date): Promise<Incident | null>;
}

export interface LogQuery extends PageQuery {
  /** That level and the more severe ones. */
  level?: LogLevel;
  /** Text in the source's name ("dispatch" finds "dispatch-server"). */
  source?: string;
  node?: string;
  from?: Date;
  to?: Date;
  /**
   * Words, each of which must begin a word of the entry's message, source or context values, or of
   * the name of a job whose id the entry holds (`disp` finds `dispatch-server`, `nightly` the
   * entries of the job named `nightly backup`, `ENOENT` an error in the context). Served by an
   * index in both stores, not a scan; the rule in full, with its limits, is in log-words.ts.
   */
  q?: string;
}

export interface LogRepository {
  write(entries: LogEntryInput[]): Promise<void>;
  /** Newest first. */
  list(query?: LogQuery): Promise<Page<LogEntry>>;
  deleteOlderThan(cutoff: Date): Promise<number>;
}

export interface AuditQuery extends PageQuery {
  user?: string;
  /** Text in the path (`/api/jobs`, a job id) or the target. */
  q?: string;
  method?: string;
  from?: Date;
  to?: Date;
}

/** The audit log: every write through the console API. */
export interface AuditRepository {
  add(entry: AuditEntryInput): Promise<AuditEntry>;
  /** Newest first. */
  list(query?: AuditQuery): Promise<Page<AuditEntry>>;
}

export interface OutboxRepository {
  add(mail: OutboxMailInput): Promise<OutboxMail>;
  /** Newest first. */
  list(query?: PageQuery): Promise<Page<OutboxMail>>;
}

/** One run transition in `RunWrites`. */
export interface RunUpdate {
  id: string;
  patch: RunPatch;
  /**
   * What the transition means for the run's job (a final status: `runCountDelta: 1`, ...),
   * applied with the run and exactly once, as `RunRepository.update`'s `jobState`.
   */
  jobState?: JobRunState;
}

/** A dispatch-server's writes of one moment, applied in this order. */
export interface RunWrites {
  inserts: RunInput[];
  updates: RunUpdate[];
  /** Job states that belong to no run transition (a next run time), applied after the updates. */
  jobStates: Array<{ id: string; state: JobRunState }>;
  /**
   * The writer's leader term, its fencing token (Kleppmann, "How to do distributed locking"; the
   * ZooKeeper recipe's sequence number): every insert is stamped with it (`Run.leaderTerm`), and
   * an update applies only to a run whose term is at most this one, which it then stamps. A
   * deposed leader's writes that reach the store late (held in TCP through a partition) then
   * change no run a later leader has taken (`RunRepository.fence`). Inserts are not fenced: the
   * run id is the slot, so a late one can only take a slot no later leader has fired, and that
   * leader's orphan sweep adopts it. Omitted: no fence, the term left as it is.
   */
  term?: number;
  /**
   * The partition tokens of a writer that owns partitions (a dispatch-server that shares the
   * jobs out): each insert and update of a run whose job's partition has a token here is applied
   * only if that token is at least the partition's fence (`RunRepository.fencePartitions`), else
   * refused: an insert answered with a FencedRunError (a DuplicateRunError: the slot is not this
   * writer's), an update answered false; both counted in `fenced`. Checked in the write's
   * transaction on the embedded store; on MongoDB against the fences read at the start of the
   * batch. Writes of other partitions, and all writes when omitted, are not fenced this way.
   */
  partitions?: PartitionFence;
}

/**
 * A partition's fencing token: zk-kit's PartitionGrant, the owner znode's creation time
 * (`incarnation`, ms) and version after the claim (`epoch`). Tokens compare as (incarnation,
 * epoch), in that order: each later owner of a partition holds a higher one.
 */
export interface PartitionToken {
  partition: number;
  incarnation: number;
  epoch: number;
}

/** The partition tokens a batch of run writes was made under (`RunWrites.partitions`). */
export interface PartitionFence {
  /** The cluster's partition count: a run's partition is `partitionOf(run.jobId, count)` (@clover/partitions). */
  count: number;
  /** At most one token per partition: the writer's when it queued the writes. */
  tokens: PartitionToken[];
}

/** Per insert: the stored Run or a DuplicateRunError; per update: whether it was applied. */
export interface RunWriteResults {
  inserted: Array<Run | DuplicateRunError>;
  /** False for a run not in the store, and for one a later term has (see `fenced`). */
  updated: boolean[];
  /** How many of the writes were refused: updates of a run a later leader term had, and writes below a partition's fence. */
  fenced: number;
}

export interface Store {
  readonly kind: 'embedded' | 'mongo';
  /** What serves it, for logs: `SQLite 3.x`, `MongoDB 7.0.14`, `FerretDB 1.24.2 (wire 7.0.42)`. */
  readonly server: string;
  jobs: JobRepository;
  runs: RunRepository;
  liveOutputs: LiveOutputRepository;
  counters: CounterRepository;
  contacts: ContactRepository;
  users: UserRepository;
  sessions: SessionRepository;
  tokens: TokenRepository;
  incidents: IncidentRepository;
  logs: LogRepository;
  outbox: OutboxRepository;
  audit: AuditRepository;
  /**
   * runs.insertEach, runs.updateEach and jobs.recordRunStates in one go: one transaction on the
   * embedded store (one commit, not three), one after another on MongoDB.
   */
  writeRuns(writes: RunWrites): Promise<RunWriteResults>;
  /**
   * Finishes what a writer that died between two writes left half done: a run's final status
   * written but not yet its hourly counters or its job's counts. The embedded store writes them in
   * one transaction and has nothing to finish; MongoDB (no transactions without a replica set)
   * writes each batch's counts ahead as a tally in `run_tallies` and applies them idempotently,
   * so this applies what a dead writer's tallies left undone (src/mongo/runs.ts). Called when the
   * store opens and by a dispatch-server that becomes leader. Answers how many runs it finished.
   */
  reconcile(): Promise<{ runs: number }>;
  /** Removes runs and logs older than the retention; both stores also do it on their own. */
  sweep(now?: Date): Promise<{ runs: number; logs: number }>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** MongoDB URL; when absent, the embedded SQLite store. */
  mongoUrl?: string;
  /** Embedded store directory (default ./.clover-data); the file is clover.db inside it. */
  dataDir?: string;
  /** Embedded store file, overriding dataDir. */
  file?: string;
  /** How long runs are kept (default 30 days). */
  runRetentionMs?: number;
  /** How long logs are kept (default 14 days). */
  logRetentionMs?: number;
  /**
   * How often the store removes what its retention let expire (ms, default 600,000): always on
   * the embedded store; on MongoDB only where the server has no TTL indexes (FerretDB), since
   * MongoDB's own TTL monitor does it otherwise.
   */
  sweepIntervalMs?: number;
  /** MongoDB: the driver's connection pool size (`maxPoolSize`, default the driver's 100). */
  mongoPoolSize?: number;
  /**
   * MongoDB: `reconcile()` leaves alone a batch of run writes younger than this (ms, default
   * 30,000), taking it for a live writer's; a dead writer's is a ZooKeeper session old by the time
   * a new leader looks.
   */
  reconcileAfterMs?: number;
  /**
   * MongoDB, for benchmarks and diagnosis: a file where the store keeps the count of commands it
   * has sent, by command name, as JSON (`{"total": n, "byName": {"insert": n, ...}}`), rewritten
   * every second and at close. Counted with the driver's command monitoring
   * (`monitorCommands`, `commandStarted`). Default: `CLOVER_MONGO_COMMAND_COUNT_FILE`, else off.
   */
  commandCountFile?: string;
  /**
   * Testing only: called between the writes of a batch of runs on MongoDB (`tallied`,
   * `runs-written`, `counted`), so a test can kill the writer there.
   */
  faultPoint?: (step: 'tallied' | 'runs-written' | 'counted') => void;
  /**
   * Testing only, MongoDB: awaited between an update's read of its runs and its write of them, so
   * a test can have a second writer change a run in between (another server recording the same
   * RESULT). The embedded store writes in one transaction and has no such gap.
   */
  beforeRunsWritten?: () => Promise<void>;
  /**
   * Testing only, MongoDB: awaited by `reconcile()` between claiming a dead writer's batch and
   * applying its counts, so a test can have that batch's own writer finish it in between.
   */
  beforeTallyApplied?: (tallyId: string) => Promise<void>;
  /**
   * MongoDB: how long the clean-up of a counted batch of run writes may wait to travel with the
   * next batch's commands before it is sent alone (ms, default 200).
   */
  settleDelayMs?: number;
  /**
   * Embedded store: checkpoint the write-ahead log from a worker thread rather than in the
   * writer's commits. For the one busy writer (a dispatch-server); default false.
   */
  backgroundCheckpoint?: boolean;
}
