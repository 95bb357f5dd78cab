import { z } from 'zod';
import { jobKindSchema } from '@clover/model';
import { LIMITS } from './limits.js';

export const PROTOCOL_VERSION = '1';
/** Bodies above this are dropped unread: a frame this size is a bug or an attack. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Bodies one message may carry, for a peer that reads several (docs/protocol.md). */
export const MAX_BODIES = 1000;

/**
 * A string of at most `max` UTF-16 code units (`String.length`), the unit LIMITS and
 * docs/protocol.md count in. Not zod's `.max()`: zod 4.6 counts code points there (an emoji is
 * 1), which made the schemas take more than the bounds say (the wire vectors found it).
 */
const chars = (max: number) => z.string().refine((s) => s.length <= max, `at most ${max} characters (UTF-16 code units)`);
const id = chars(LIMITS.idChars).refine((s) => s.length >= 1, 'must not be empty');
const name = chars(LIMITS.nameChars);
const epochMs = z.number().int().nonnegative();
/**
 * Executions running on the agent that other dispatch-servers sent it (docs/protocol.md, Several
 * servers): with what the receiving server has in flight there, the agent's whole load, which
 * its capacity and `least_busy` routing read. Absent: 0 (an agent of one server says nothing).
 */
const runningForOthers = z.number().int().min(0).max(LIMITS.capacity).optional();

export const helloSchema = z.object({
  agentId: id,
  version: chars(LIMITS.versionChars),
  handlers: z.array(name).max(LIMITS.handlers),
  capacity: z.number().int().min(1).max(LIMITS.capacity),
  running: z.array(id).max(LIMITS.capacity),
  groups: z.array(name).max(LIMITS.labels),
  tags: z.array(name).max(LIMITS.labels),
  shell: z.boolean(),
  http: z.boolean(),
  /** The agent reads messages of several bodies. */
  batch: z.boolean().optional(),
  /**
   * Exec ids whose process groups the agent's previous life left running and this life killed
   * before its first HELLO (docs/protocol.md, HELLO). Absent when there were none.
   */
  orphansKilled: z.array(id).max(LIMITS.orphansKilled).optional(),
  /**
   * This HELLO follows the RESULTs the agent repeats to a new leader (docs/protocol.md, A new
   * leader): on the same connection, so every one of them has arrived before it. Absent: no
   * such promise.
   */
  resultsRepeated: z.boolean().optional(),
  /**
   * When this life of the agent began (epoch ms, its own clock): a run a leader sent it before
   * then went to an earlier life, which may have run it and died before reporting, so a new
   * leader must not send it again under the same exec id (docs/protocol.md, A new leader).
   */
  startedAt: epochMs.optional(),
  /**
   * The agent holds a connection to every live dispatch-server and answers each on its own
   * (docs/protocol.md, Several servers). Absent: an agent of the single-leader protocol, which
   * follows only the election's leader.
   */
  allServers: z.boolean().optional(),
  runningForOthers,
});

export const execSchema = z.object({
  execId: id,
  jobId: id,
  jobName: name,
  attempt: z.number().int().min(1),
  kind: jobKindSchema,
  payload: z.unknown(),
  timeoutMs: z.number().int().positive(),
  deadline: epochMs,
  scheduledAt: epochMs,
  /**
   * The life of the agent this EXEC is for: the `startedAt` of the HELLO the sender last had from
   * it. An agent whose own life began at another time refuses it (`other_life`): a restarted
   * agent keeps its routing id, so an EXEC meant for the life before (a resend, a new leader's
   * redelivery) reaches the new one, which knows nothing of what that life ran (issue 16's
   * 10-minute chaos run: 37 executions started twice). Absent: for any life.
   */
  agentStartedAt: epochMs.optional(),
});

export const ackSchema = z.object({
  execId: id,
  accepted: z.boolean(),
  reason: z.enum(['duplicate', 'no_handler', 'at_capacity', 'unsupported', 'draining', 'other_life', 'not_leader']).optional(),
  /** Accepted and already running since then: no START follows. */
  startedAt: epochMs.optional(),
  runningForOthers,
});

export const startSchema = z.object({ execId: id, startedAt: epochMs });

export const resultSchema = z.object({
  execId: id,
  status: z.enum(['succeeded', 'failed', 'timed_out', 'cancelled']),
  exitCode: z.number().int().nullable(),
  startedAt: epochMs,
  finishedAt: epochMs,
  outputTail: z
    .string()
    .refine((s) => Buffer.byteLength(s, 'utf8') <= LIMITS.outputTailBytes, `output tail over ${LIMITS.outputTailBytes} bytes`),
  error: chars(LIMITS.errorChars).nullable(),
  runningForOthers,
});

/**
 * Output of a running execution, as it is produced (docs/protocol.md, OUTPUT): optional for an
 * agent, at most one frame per execution every 250 ms. `seq` counts an execution's frames from 1,
 * so a server drops a repeat and can tell a gap; `chunk` is what the execution printed since the
 * frame before, or its end when that was more than the bound.
 */
export const outputSchema = z.object({
  execId: id,
  seq: z.number().int().min(1).max(LIMITS.outputSeqMax),
  chunk: z
    .string()
    .refine((s) => Buffer.byteLength(s, 'utf8') <= LIMITS.outputChunkBytes, `output chunk over ${LIMITS.outputChunkBytes} bytes`),
});

export const cancelSchema = z.object({ execId: id, reason: z.enum(['timeout', 'replaced', 'requested', 'shutdown']) });
export const pingSchema = z.object({ nonce: chars(LIMITS.nonceChars), sentAt: epochMs });
/** A PING's body back, with what runs on the agent for other servers (refreshed every 2 s so, on an idle channel too). */
export const pongSchema = pingSchema.extend({ runningForOthers });
export const byeSchema = z.object({ reason: chars(LIMITS.reasonChars) });

export const messageSchemas = {
  HELLO: helloSchema,
  EXEC: execSchema,
  ACK: ackSchema,
  START: startSchema,
  RESULT: resultSchema,
  OUTPUT: outputSchema,
  CANCEL: cancelSchema,
  PING: pingSchema,
  PONG: pongSchema,
  BYE: byeSchema,
} as const;

export type MessageType = keyof typeof messageSchemas;
export type Hello = z.infer<typeof helloSchema>;
export type Exec = z.infer<typeof execSchema>;
export type Ack = z.infer<typeof ackSchema>;
export type Start = z.infer<typeof startSchema>;
export type Result = z.infer<typeof resultSchema>;
export type Output = z.infer<typeof outputSchema>;
export type Cancel = z.infer<typeof cancelSchema>;
export type Ping = z.infer<typeof pingSchema>;
export type Pong = z.infer<typeof pongSchema>;
export type Bye = z.infer<typeof byeSchema>;

/** One protocol message: its type and its checked body. */
export type Message = { [K in MessageType]: { type: K; body: z.infer<(typeof messageSchemas)[K]> } }[MessageType];
