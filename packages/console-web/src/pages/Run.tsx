import { api } from '../api/client';
import { RunDetail } from '../components/RunDetail';
import { ErrorBanner, Loading, PageHeader } from '../components/ui';
import { useT } from '../i18n';
import { useAsync } from '../lib/hooks';
import { useLiveOutput } from '../lib/liveOutput';
import { Link } from '../lib/router';

/** How often a run that has not finished is read again, so its status and output tail stay current. */
export const RUN_REFRESH_MS = 2000;

const finished = new Set(['succeeded', 'failed', 'timed_out', 'lost', 'skipped', 'cancelled']);

/** One run on its own page (`/runs/:id`): what the job page's run history opens. */
export function RunPage({ id }: { id: string }) {
  const t = useT();
  const run = useAsync(() => api.run(id), [id], RUN_REFRESH_MS);
  const done = run.data !== undefined && finished.has(run.data.status);
  // Streams from the first render on: a run that is over answers with its end at once.
  const live = useLiveOutput(id, run.data !== undefined && !done);
  return (
    <div data-testid="page-run" data-run-id={id} data-finished={done}>
      <PageHeader title={t('runs.detailTitle')}>
        {run.data && (
          <Link to={`/jobs/${encodeURIComponent(run.data.jobId)}`} data-testid="run-back-to-job">
            {t('runs.backToJob')}
          </Link>
        )}
      </PageHeader>
      <ErrorBanner error={run.error} />
      {!run.data && !run.error && <Loading />}
      {run.data && (
        <section className="panel" data-testid="run-detail">
          <RunDetail run={run.data} liveOutput={done ? null : live} />
        </section>
      )}
    </div>
  );
}
