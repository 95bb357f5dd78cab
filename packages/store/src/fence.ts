/**
 * Whether a run write of leader term `term` may change a run that term `held` wrote last: the
 * fencing-token rule (Kleppmann, "How to do distributed locking"): a token lower than one the
 * store has seen for that run is refused. `term` undefined is a write outside any leader (an
 * import, a test), never fenced; `held` null is a run no leader has stamped.
 */
export function termAdmits(term: number | undefined, held: number | null | undefined): boolean {
  return term === undefined || held === null || held === undefined || held <= term;
}
