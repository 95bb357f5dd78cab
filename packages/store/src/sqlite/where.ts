import { decodeCursor } from '../cursor.js';

/**
 * A query's WHERE clause: conditions joined by AND, and the named parameters (`@name`) they bind.
 * Its text depends only on which filters are given, so each combination is prepared once.
 */
export class Where {
  private readonly conditions: string[];
  /** What the conditions bind; a statement may bind more beside them (a LIMIT). */
  readonly params: Record<string, unknown> = {};

  constructor(...conditions: string[]) {
    this.conditions = conditions;
  }

  /** Adds `condition`, binding `params`. */
  and(condition: string, params: Record<string, unknown> = {}): void {
    this.conditions.push(condition);
    Object.assign(this.params, params);
  }

  /** The rows after `cursor` in (`column` desc, id desc) order; no condition without a cursor. */
  after(column: string, cursor: string | null | undefined): void {
    if (!cursor) return;
    const c = decodeCursor(cursor);
    this.and(`(${column} < @cAt OR (${column} = @cAt AND id < @cId))`, { cAt: c.sortValue, cId: c.id });
  }

  /** `WHERE a AND b`, or '' without conditions. */
  get sql(): string {
    return this.conditions.length ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}

/** A LIKE pattern, to use with `ESCAPE '\'`, for any text containing `text` as it is. */
export const likeContaining = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
