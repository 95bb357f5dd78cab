import { useEffect, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { Schedule, UpcomingFire } from '../api/types';
import { useT, type Translate } from '../i18n';
import { fieldTexts } from '../lib/issues';
import { browserTimeZone, formatTime, formatTimeIn } from '../lib/format';
import { DstNote, firesOf } from './DstNote';
import { errorText, Field } from './ui';

export const PREVIEW_DEBOUNCE_MS = 300;

type PreviewState =
  | { status: 'idle' }
  | { status: 'pending'; times: UpcomingFire[] }
  | { status: 'ok'; times: UpcomingFire[] }
  | { status: 'error'; error: unknown };

/** The message to show for a rejected schedule: the field's own message when the server names one. */
export function previewErrorText(err: unknown, t: Translate): string {
  if (err instanceof ApiError) {
    const f = fieldTexts(err, t);
    const key =
      ['schedule.expr', 'schedule.timezone', 'schedule.at', 'schedule.everyMs', 'schedule.startAt', 'schedule'].find((k) => f[k]) ??
      Object.keys(f)[0];
    return (key && f[key]) || errorText(err, t);
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Next fire times of `schedule` from POST /api/cron/preview, asked for once the schedule has not
 * changed for 300 ms; an older answer never replaces a newer one. A fire that daylight saving
 * time moved carries a note saying how (DstNote).
 */
export function SchedulePreview({ schedule, delayMs = PREVIEW_DEBOUNCE_MS }: { schedule: Schedule | null; delayMs?: number }) {
  const t = useT();
  const key = schedule ? JSON.stringify(schedule) : '';
  // The last answer and the schedule it was for; what shows is derived from it and `key`.
  const [answer, setAnswer] = useState<{ key: string; state: PreviewState } | null>(null);
  // A cleared schedule forgets the last answer, so a new one starts from nothing.
  if (!key && answer) setAnswer(null);
  const state: PreviewState = !key
    ? { status: 'idle' }
    : answer?.key === key
      ? answer.state
      : {
          status: 'pending',
          times: answer && (answer.state.status === 'ok' || answer.state.status === 'pending') ? answer.state.times : [],
        };

  useEffect(() => {
    if (!key) return;
    const ctrl = new AbortController();
    const timer = setTimeout(() => {
      api.cronPreview(JSON.parse(key) as Schedule, ctrl.signal).then(
        (r) => {
          if (!ctrl.signal.aborted) setAnswer({ key, state: { status: 'ok', times: firesOf(r) } });
        },
        (err: unknown) => {
          if (ctrl.signal.aborted) return;
          setAnswer({ key, state: { status: 'error', error: err } });
        },
      );
    }, delayMs);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [key, delayMs]);

  const zone = schedule?.type === 'cron' ? schedule.timezone || 'UTC' : null;
  const local = browserTimeZone();
  const showZone = zone !== null && zone !== local;

  return (
    <div className="preview" data-testid="cron-preview" aria-live="polite" data-state={state.status}>
      <div className="preview-head">
        {t('preview.title')}
        {state.status === 'pending' && <span className="muted small"> {t('preview.checking')}</span>}
      </div>
      {state.status === 'error' && (
        <div className="field-error" role="alert" data-testid="cron-preview-error">
          {previewErrorText(state.error, t)}
        </div>
      )}
      {(state.status === 'ok' || state.status === 'pending') && state.times.length > 0 && (
        <table className={`table compact${state.status === 'pending' ? ' stale' : ''}`}>
          <thead>
            <tr>
              <th>#</th>
              <th>{t('preview.local', { zone: local })}</th>
              {showZone && <th>{zone}</th>}
            </tr>
          </thead>
          <tbody>
            {state.times.map((fire, i) => (
              <tr key={fire.at} data-testid="cron-preview-time" data-iso={fire.at}>
                <td className="muted">{i + 1}</td>
                <td className="mono">{formatTime(fire.at)}</td>
                {showZone && <td className="mono">{formatTimeIn(fire.at, zone)}</td>}
                <td>
                  <DstNote fire={fire} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {state.status === 'ok' && state.times.length === 0 && (
        <div className="muted" data-testid="cron-preview-none">
          {t('preview.none')}
        </div>
      )}
    </div>
  );
}

const ZONES: string[] = (() => {
  try {
    const fn = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf;
    const zones = fn ? fn('timeZone') : [];
    return zones.includes('UTC') ? zones : ['UTC', ...zones];
  } catch {
    return ['UTC'];
  }
})();

/** The cron rule and its time zone, with the live preview underneath. */
export function CronField({
  expr,
  timezone,
  onExprChange,
  onTimezoneChange,
  exprError,
  timezoneError,
  delayMs,
}: {
  expr: string;
  timezone: string;
  onExprChange: (v: string) => void;
  onTimezoneChange: (v: string) => void;
  exprError?: string | undefined;
  timezoneError?: string | undefined;
  delayMs?: number;
}) {
  const t = useT();
  return (
    <div className="schedule-grid">
      <div className="row">
        <Field label={t('job.cronExpr')} htmlFor="job-cron-expr" error={exprError} hint={t('job.cronHint')} testId="job-cron-expr">
          <input
            id="job-cron-expr"
            className="mono"
            value={expr}
            onChange={(e) => onExprChange(e.target.value)}
            spellCheck={false}
            autoComplete="off"
            data-testid="job-cron-expr"
          />
        </Field>
        <Field label={t('job.timezone')} htmlFor="job-timezone" error={timezoneError} testId="job-timezone">
          <input
            id="job-timezone"
            list="clover-timezones"
            value={timezone}
            onChange={(e) => onTimezoneChange(e.target.value)}
            autoComplete="off"
            data-testid="job-timezone"
          />
          <datalist id="clover-timezones">
            {ZONES.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </Field>
      </div>
      <SchedulePreview
        schedule={expr.trim() ? { type: 'cron', expr: expr.trim(), timezone: timezone.trim() || 'UTC' } : null}
        delayMs={delayMs}
      />
    </div>
  );
}
