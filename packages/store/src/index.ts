export type {
  Store, StoreOptions, Page, PageQuery, JobQuery, RunQuery, LogQuery, IncidentQuery, StatusCounts, CounterSummary,
  JobRepository, RunRepository, CounterRepository, ContactRepository, UserRepository, SessionRepository, TokenRepository,
  IncidentRepository, LogRepository, OutboxRepository, RunWrites, RunWriteResults, RunUpdate, InsertManyResult,
} from './interfaces.js';
export { DuplicateRunError, DuplicateError, BadCursorError } from './errors.js';
export { openStore } from './open-store.js';
