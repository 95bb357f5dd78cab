import { z } from 'zod';
import { parseOrThrow } from '@clover/model';

/** limit/cursor as the API documents them: limit 1..500, default 50. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1, 'at least 1').max(500, 'at most 500').default(50),
  cursor: z.string().min(1).optional(),
});

export const optionalDate = z.coerce.date({ error: 'expected an ISO date-time' }).optional();
export const booleanText = z
  .enum(['true', 'false'], { error: 'expected true or false' })
  .transform((v) => v === 'true')
  .optional();

/** Parses a query string object; a bad value is a 400 naming the parameter. */
export function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  return parseOrThrow(schema, query ?? {});
}
