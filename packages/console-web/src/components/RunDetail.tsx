import { api } from '../api/client';
import type { Run } from '../api/types';
import { useT, type MessageKey } from '../i18n';
import { formatDuration, formatTime, runDuration } from '../lib/format';
import { useAsync } from '../lib/hooks';
import { useJobNames } from '../lib/jobNames';
import { Link } from '../lib/router';
import { ErrorBanner, Loading, Modal, Props, StatusBadge } from './ui';

export function RunDetailModal({ id, onClose }: { id: string; onClose: () => void }) {
  const t = useT();
  const run = useAsync(() => api.run(id), [id]);
  return (
    <Modal title={t('runs.detailTitle')} onClose={onClose} testId="run-detail" wide>
      <ErrorBanner error={run.error} />
      {!run.data && !run.error && <Loading />}
      {run.data && <RunDetail run={run.data} onNavigate={onClose} />}
    </Modal>
  );
}

/**
 * A run's fields, error and output. `liveOutput`: the output of a run still going, as it streams
 * (the run page's useLiveOutput), shown in place of the output tail, which only the end fills.
 */
export function RunDetail({ run, onNavigate, liveOutput }: { run: Run; onNavigate?: () => void; liveOutput?: string | null }) {
  const t = useT();
  const names = useJobNames();
  return (
    <div className="run-detail">
      <Props
        rows={[
          [t('runs.id'), <code key="id">{run.id}</code>],
          [
            t('runs.job'),
            <Link key="job" to={`/jobs/${encodeURIComponent(run.jobId)}`} onClick={onNavigate}>
              {names.get(run.jobId) ?? run.jobId}
            </Link>,
          ],
          [t('runs.status'), <StatusBadge key="s" status={run.status} />],
          [t('runs.trigger'), t(`trigger.${run.trigger}` as MessageKey)],
          [t('runs.attempt'), run.attempt],
          [t('runs.node'), run.node ?? '—'],
          [t('runs.scheduledAt'), formatTime(run.scheduledAt)],
          [t('runs.dispatchedAt'), formatTime(run.dispatchedAt)],
          [t('runs.startedAt'), formatTime(run.startedAt)],
          [t('runs.finishedAt'), formatTime(run.finishedAt)],
          [t('runs.duration'), formatDuration(runDuration(run), t)],
          [t('runs.exitCode'), run.exitCode ?? '—'],
        ]}
      />
      <h3>{t('runs.error')}</h3>
      {run.error ? (
        <pre className="output output-error" data-testid="run-error">
          {run.error}
        </pre>
      ) : (
        <div className="muted">{t('runs.noError')}</div>
      )}
      <h3>{liveOutput != null ? t('runs.liveOutput') : t('runs.output')}</h3>
      {liveOutput != null ? (
        <pre className="output" data-testid="run-live-output">
          {liveOutput}
        </pre>
      ) : run.outputTail ? (
        <pre className="output" data-testid="run-output">
          {run.outputTail}
        </pre>
      ) : (
        <div className="muted">{t('runs.noOutput')}</div>
      )}
    </div>
  );
}
