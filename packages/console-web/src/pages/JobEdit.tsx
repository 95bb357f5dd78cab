import { useEffect, useState, type SyntheticEvent } from 'react';
import { api, ApiError } from '../api/client';
import type { Contact, Job, JobInput } from '../api/types';
import { useCan } from '../auth';
import { JobForm } from '../components/JobForm';
import { useNotify } from '../components/notify';
import { ErrorBanner, Loading, PageHeader } from '../components/ui';
import { fieldTexts } from '../lib/issues';
import { useT } from '../i18n';
import { buildJobInput, emptyJobForm, jobToForm, jobUpdateOf, type ClientErrors, type JobFormState } from '../lib/jobForm';
import { useAsync, useInputsChanged, useLatest } from '../lib/hooks';
import { forgetJobNames } from '../lib/jobNames';
import { Link, navigate, setLeaveGuard } from '../lib/router';

/** Create (`/jobs/new`, or `/jobs/new?copy=<id>` to start from a copy of a job) or edit (`/jobs/:id/edit`) a job. */
export function JobEditPage({ id, copyOf }: { id?: string | undefined; copyOf?: string | undefined }) {
  const t = useT();
  const can = useCan();
  const from = id ?? copyOf;
  const existing = useAsync(() => (from ? api.job(from) : Promise.resolve(null)), [from]);
  const contacts = useAsync(() => api.contacts().then((r) => r.items), []);
  const handlers = useAsync(
    () =>
      api
        .machines()
        .then((m) => [...new Set(m.items.filter((x) => x.kind === 'clients' && x.state !== 'dead').flatMap((x) => x.handlers))].sort()),
    [],
  );

  if (from && existing.error) {
    return (
      <div>
        <PageHeader title={t('job.editTitle')} />
        <ErrorBanner error={existing.error} />
      </div>
    );
  }
  if (from && !existing.data) return <Loading />;
  const copied =
    !id && existing.data ? { ...jobToForm(existing.data.job), name: t('job.copyName', { name: existing.data.job.name }) } : undefined;
  return (
    <JobEditor
      key={id ?? `new-${copyOf ?? ''}`}
      job={id ? (existing.data?.job ?? null) : null}
      initial={copied}
      handlers={handlers.data}
      contacts={contacts.data ?? []}
      readOnly={!can.operate}
      onSaved={(job) => navigate(`/jobs/${encodeURIComponent(job.id)}`)}
    />
  );
}

export function JobEditor({
  job,
  contacts,
  readOnly,
  onSaved,
  initial,
  handlers,
  save = (input, j) => (j ? api.updateJob(j.id, jobUpdateOf(input)) : api.createJob(input)),
}: {
  job: Job | null;
  /** The form to start from when creating (a copy of another job); the empty form without it. */
  initial?: JobFormState | undefined;
  handlers?: readonly string[] | undefined;
  contacts: Contact[];
  readOnly?: boolean;
  onSaved: (job: Job) => void;
  save?: (input: JobInput, job: Job | null) => Promise<Job>;
}) {
  const t = useT();
  const notify = useNotify();
  const [start] = useState<JobFormState>(() => (job ? jobToForm(job) : (initial ?? emptyJobForm())));
  const [form, setForm] = useState<JobFormState>(start);
  const edited = JSON.stringify(form) !== JSON.stringify(start);
  const confirmLeave = useLatest(() => window.confirm(t('job.leaveConfirm')));
  // Leaving an edited form asks first: inside the console (the router's guard) and on a reload or a closed tab.
  useEffect(() => {
    if (!edited || readOnly) return;
    setLeaveGuard(() => confirmLeave.current());
    const onUnload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', onUnload);
    return () => {
      setLeaveGuard(null);
      window.removeEventListener('beforeunload', onUnload);
    };
  }, [edited, readOnly, confirmLeave]);
  const [clientErrors, setClientErrors] = useState<ClientErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  // The form's own errors are about the fields of one schedule and one kind: another type shows other fields.
  const typesChanged = useInputsChanged([form.scheduleType, form.kindType]);
  if (typesChanged) setClientErrors({});

  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    if (busy || readOnly) return;
    const { input, errors } = buildJobInput(form);
    setClientErrors(errors);
    setError(null);
    if (!input) return;
    if (
      input.schedule.type === 'once' &&
      new Date(input.schedule.at as string | number | Date).getTime() < Date.now() &&
      !window.confirm(t('job.oncePastConfirm'))
    )
      return;
    setBusy(true);
    try {
      const saved = await save(input, job);
      setLeaveGuard(null); // saved: nothing is lost by leaving
      forgetJobNames();
      notify(job ? t('job.saved') : t('job.created'));
      onSaved(saved);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const serverFields = fieldTexts(error, t);
  const cancelTo = job ? `/jobs/${encodeURIComponent(job.id)}` : '/jobs';
  return (
    <form onSubmit={(e) => void submit(e)} noValidate data-testid="job-form">
      <PageHeader title={job ? t('job.editTitleNamed', { name: job.name }) : t('job.newTitle')}>
        <Link to={cancelTo} className="button" data-testid="job-cancel">
          {t('common.cancel')}
        </Link>
        <button type="submit" className="primary" disabled={busy || readOnly} data-testid="job-save">
          {busy ? t('common.saving') : job ? t('common.save') : t('job.create')}
        </button>
      </PageHeader>
      {error != null && (
        <ErrorBanner
          error={
            error instanceof ApiError
              ? new ApiError(error.status, error.code, error.message, unshownFields(error.fields), null, error.issues)
              : error
          }
          testId="job-form-error"
        />
      )}
      <JobForm
        form={form}
        onChange={setForm}
        clientErrors={clientErrors}
        serverFields={serverFields}
        contacts={contacts}
        handlers={handlers}
      />
      <div className="form-foot">
        <button type="submit" className="primary" disabled={busy || readOnly} data-testid="job-save-bottom">
          {busy ? t('common.saving') : job ? t('common.save') : t('job.create')}
        </button>
      </div>
    </form>
  );
}

/** Field errors that no control of the form shows (they go into the banner instead). */
const SHOWN = [
  'name',
  'description',
  'group',
  'schedule.expr',
  'schedule.timezone',
  'schedule.at',
  'schedule.everyMs',
  'target.nodeId',
  'target.group',
  'target.tags',
  'routing',
  'kind.name',
  'kind.command',
  'kind.args',
  'kind.cwd',
  'kind.method',
  'kind.url',
  'kind.headers',
  'kind.body',
  'kind.expectStatus',
  'payload',
  'timeoutMs',
  'retries.max',
  'retries.backoffMs',
  'concurrency',
  'misfire',
  'startDeadlineMs',
  'onStartDeadline',
  'incidentOnStartDeadline',
  'contacts',
];
function unshownFields(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([k]) => !SHOWN.some((s) => k === s || k.startsWith(`${s}.`))));
}
