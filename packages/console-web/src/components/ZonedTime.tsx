import { useT } from '../i18n';
import { browserTimeZone, formatTime, formatTimeIn } from '../lib/format';

/**
 * An instant as the viewer reads it, labelled with the viewer's zone, and, when the job has a zone
 * of its own that differs (a cron rule's `timezone`), as the job's rule reads it too: an
 * `Asia/Shanghai` job's 03:00 is 19:00 to a viewer in UTC, and both are shown, each named.
 */
export function ZonedTime({ iso, jobZone }: { iso: string | null | undefined; jobZone?: string | null }) {
  const t = useT();
  if (!iso) return <>—</>;
  const viewer = browserTimeZone();
  return (
    <span className="zoned-time" data-testid="zoned-time">
      <span className="mono">{formatTime(iso)}</span> <span className="zone-label">{viewer}</span>
      {jobZone && jobZone !== viewer && (
        <span className="zone-job" title={t('time.jobZone')}>
          {' · '}
          <span className="mono">{formatTimeIn(iso, jobZone)}</span> <span className="zone-label">{jobZone}</span>
        </span>
      )}
    </span>
  );
}
