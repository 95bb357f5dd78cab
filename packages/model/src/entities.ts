import { z } from 'zod';
import { incidentKinds, logLevels, roles, grants, mailLanguages } from './lists.js';

/** Whether an address zod's email pattern passed keeps RFC 5321's lengths: local part ≤ 64, each domain label ≤ 63. */
function deliverableLengths(address: string): boolean {
  const at = address.lastIndexOf('@');
  return (
    at <= 64 &&
    address
      .slice(at + 1)
      .split('.')
      .every((label) => label.length <= 63)
  );
}

export const contactInputSchema = z.object({
  name: z.string().trim().min(1, 'name must not be empty').max(200),
  email: z
    .email('must be an email address')
    // zod's email pattern has no lengths; RFC 5321 §4.5.3.1 does, and a mail server refuses an
    // address past them: local part ≤ 64, domain labels ≤ 63, the path ≤ 254 characters.
    .max(254, 'an email address is at most 254 characters (RFC 5321)')
    .refine(
      (address) => deliverableLengths(address),
      'an email address has a local part of at most 64 characters and domain labels of at most 63 (RFC 5321)',
    ),
  phone: z.string().trim().max(50).optional(),
  groups: z.array(z.string().trim().min(1)).default([]),
  enabled: z.boolean().default(true),
  /** The language of the mails this contact gets; absent: the cluster's (`/clover/config` `language`), else English. */
  language: z.enum(mailLanguages).optional(),
});
export type ContactInput = z.input<typeof contactInputSchema>;
export const contactSchema = contactInputSchema.extend({ id: z.string() });
export type Contact = z.output<typeof contactSchema>;

export const roleSchema = z.enum(roles);
export type Role = z.infer<typeof roleSchema>;
/**
 * Permissions a user holds beyond their role. `commands`: may create, change, enable and trigger
 * shell and http jobs, which run commands and make requests on agents (admins may always; issue 21).
 */
export const grantSchema = z.enum(grants);
export type Grant = z.infer<typeof grantSchema>;
export const userSchema = z.object({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[\w.@-]+$/, 'letters, digits, . _ @ - only'),
  passwordHash: z.string(),
  role: roleSchema,
  /** Default none; users stored before grants existed read as none. */
  grants: z.array(grantSchema).default([]),
  /**
   * A disabled user can neither log in nor use a session or API token made before (each request
   * reads the user). Default false; users stored before it existed read as enabled.
   */
  disabled: z.boolean().default(false),
  createdAt: z.coerce.date(),
});
export type User = z.output<typeof userSchema>;
export type UserInput = z.input<typeof userSchema>;

export const sessionSchema = z.object({ id: z.string(), user: z.string(), csrf: z.string(), expiresAt: z.coerce.date() });
export type Session = z.output<typeof sessionSchema>;

export const apiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  hash: z.string(),
  user: z.string(),
  createdAt: z.coerce.date(),
});
export type ApiToken = z.output<typeof apiTokenSchema>;

export const incidentKindSchema = z.enum(incidentKinds);
export const incidentSchema = z.object({
  id: z.string(),
  kind: incidentKindSchema,
  subject: z.string(),
  nodeKind: z.string().nullable().default(null),
  jobId: z.string().nullable().default(null),
  runId: z.string().nullable().default(null),
  openedAt: z.coerce.date(),
  closedAt: z.coerce.date().nullable().default(null),
  /** Who closed it by hand (the console); null when it closed by itself (recovery) or is open. */
  closedBy: z.string().nullable().default(null),
  /** Someone has taken it on: who and when. It stays open until it recovers or is closed. */
  acknowledgedAt: z.coerce.date().nullable().default(null),
  acknowledgedBy: z.string().nullable().default(null),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).default({}),
  notifiedAt: z.coerce.date().nullable().default(null),
  notifiedContacts: z.array(z.string()).default([]),
  recoveryNotifiedAt: z.coerce.date().nullable().default(null),
});
export type Incident = z.output<typeof incidentSchema>;
export type IncidentInput = z.input<typeof incidentSchema>;

export const logLevelSchema = z.enum(logLevels);
export type LogLevel = z.infer<typeof logLevelSchema>;
export const logLevelRank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
export const logEntrySchema = z.object({
  id: z.string(),
  time: z.coerce.date(),
  level: logLevelSchema,
  source: z.string(),
  node: z.string().nullable().default(null),
  message: z.string(),
  context: z.record(z.string(), z.unknown()).default({}),
});
export type LogEntry = z.output<typeof logEntrySchema>;
export type LogEntryInput = Omit<z.input<typeof logEntrySchema>, 'id'>;

/**
 * One write through the console API, kept for the audit log: who (`user`), when (`at`), what
 * (`method` and `path`, the `target` id when the route names one, the answer's `status`), and the
 * thing `before` and `after` (null where there was none: a create has no before, a delete no after;
 * secrets such as passwords and tokens are never kept).
 */
export const auditEntrySchema = z.object({
  id: z.string(),
  at: z.coerce.date(),
  user: z.string(),
  method: z.string(),
  path: z.string(),
  target: z.string().nullable().default(null),
  status: z.number().int(),
  before: z.unknown().default(null),
  after: z.unknown().default(null),
});
export type AuditEntry = z.output<typeof auditEntrySchema>;
export type AuditEntryInput = Omit<z.input<typeof auditEntrySchema>, 'id'>;

export const outboxMailSchema = z.object({
  id: z.string(),
  createdAt: z.coerce.date(),
  to: z.array(z.string()),
  subject: z.string(),
  text: z.string(),
  html: z.string().nullable().default(null),
  incidentIds: z.array(z.string()).default([]),
});
export type OutboxMail = z.output<typeof outboxMailSchema>;
export type OutboxMailInput = Omit<z.input<typeof outboxMailSchema>, 'id' | 'createdAt'>;
