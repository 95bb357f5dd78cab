import { z } from 'zod';
import { grantSchema, roleSchema, userSchema } from './entities.js';
import { scheduleSchema } from './job.js';
import { mailLanguages } from './lists.js';

// The bodies the console API takes besides the entities' own input schemas (`jobInputSchema`,
// `contactInputSchema`). Their input types are what the console and the CLI send.

/** POST /api/auth/login */
export const loginBodySchema = z.object({
  username: z.string().min(1, 'enter a user name'),
  password: z.string().min(1, 'enter a password'),
});
export type LoginBody = z.input<typeof loginBodySchema>;

/** POST /api/users */
export const newUserBodySchema = z.object({
  name: userSchema.shape.name,
  password: z.string().min(8, 'at least 8 characters'),
  role: roleSchema,
  grants: z.array(grantSchema).default([]),
});
export type NewUserBody = z.input<typeof newUserBodySchema>;

/** PUT /api/users/:name: a new role, new grants, or both. */
export const userAccessBodySchema = z
  .object({ role: roleSchema.optional(), grants: z.array(grantSchema).optional() })
  .strict()
  .refine((b) => b.role !== undefined || b.grants !== undefined, 'send role, grants or both');
export type UserAccessBody = z.input<typeof userAccessBodySchema>;

/** PUT /api/users/:name/password: an admin sets a user's new password. */
export const newPasswordBodySchema = z.object({ password: newUserBodySchema.shape.password });
export type NewPasswordBody = z.input<typeof newPasswordBodySchema>;

/** POST /api/auth/tokens: a token for `user` (default: the caller). */
export const newTokenBodySchema = z.object({ name: z.string().trim().min(1, 'name the token').max(100), user: z.string().optional() });
export type NewTokenBody = z.input<typeof newTokenBodySchema>;

/**
 * PUT /api/config: the cluster settings at /clover/config, in ms (ClusterConfig of zk-kit), and the
 * version of the node they were read at. A dead timeout under twice the heartbeat interval would
 * declare a healthy machine dead whenever one beat is late, so it is refused.
 */
export const clusterConfigBodySchema = z
  .object({
    heartbeatIntervalMs: z.number().int().min(100).max(60_000),
    deadTimeoutMs: z.object({
      servers: z.number().int().min(1000).max(3_600_000),
      clients: z.number().int().min(1000).max(3_600_000),
      monitors: z.number().int().min(1000).max(3_600_000),
    }),
    /** Absent: each monitor's own CLOVER_QUIET_PERIOD_MS. At most a day. */
    quietPeriodMs: z.number().int().min(0).max(86_400_000).optional(),
    /** Absent: each monitor's own CLOVER_DIGEST_WINDOW_MS. At most a minute: mails wait for it. */
    digestWindowMs: z.number().int().min(0).max(60_000).optional(),
    /** Incident mails for a contact who names no language; absent: English. */
    language: z.enum(mailLanguages).optional(),
    version: z.number().int().min(-1),
  })
  .superRefine((b, ctx) => {
    for (const kind of ['servers', 'clients', 'monitors'] as const) {
      const min = 2 * b.heartbeatIntervalMs;
      if (b.deadTimeoutMs[kind] < min)
        ctx.addIssue({
          code: 'custom',
          path: ['deadTimeoutMs', kind],
          message: `at least twice the heartbeat interval (${min} ms)`,
          params: { code: 'min', n: min },
        });
    }
  });
export type ClusterConfigBody = z.input<typeof clusterConfigBodySchema>;

/** PUT /api/nodes/data: the new data (any JSON value) and the version it was read at. */
export const putNodeBodySchema = z.object({ data: z.unknown(), version: z.number({ error: 'give the version you read' }).int().min(0) });
export type PutNodeBody = z.input<typeof putNodeBodySchema>;

/** POST /api/cron/preview */
export const cronPreviewBodySchema = z.object({ schedule: scheduleSchema });
export type CronPreviewBody = z.input<typeof cronPreviewBodySchema>;
