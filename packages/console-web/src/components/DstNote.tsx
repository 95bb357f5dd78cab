import type { UpcomingFire } from '../api/types';
import { useT } from '../i18n';

/**
 * The note beside a fire time that daylight saving time moved (the API's `shifted`): `gap`, the
 * rule's wall time is skipped that night and the job fires as the clock jumps forward; `fold`,
 * the wall time happens twice that night. Nothing for an ordinary fire.
 */
export function DstNote({ fire }: { fire: UpcomingFire }) {
  const t = useT();
  if (!fire.shifted) return null;
  return (
    <span className="dst-note" data-testid="fire-dst-note" data-shifted={fire.shifted}>
      {t(fire.shifted === 'gap' ? 'fire.dstGap' : 'fire.dstFold')}
    </span>
  );
}

/** The fires of an answer that may predate `fires` (then: the bare times, none moved). */
export function firesOf(answer: { nextFireTimes?: string[]; fires?: UpcomingFire[] }): UpcomingFire[] {
  return answer.fires ?? (answer.nextFireTimes ?? []).map((at) => ({ at }));
}
