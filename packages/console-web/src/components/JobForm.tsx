import type { ReactNode } from 'react';
import { CONCURRENCIES, HTTP_METHODS, MISFIRES, ROUTINGS, START_DEADLINE_OUTCOMES, type Contact, type HttpMethod } from '../api/types';
import { useT, type MessageKey } from '../i18n';
import { browserTimeZone, defaultStartDeadlineText } from '../lib/format';
import {
  fieldError,
  schedulePart,
  type ClientErrors,
  type JobFormState,
  type KindType,
  type ScheduleType,
  type ShellMode,
  type TargetType,
} from '../lib/jobForm';
import { CronField, SchedulePreview } from './SchedulePreview';
import { Field } from './ui';

const SCHEDULE_TYPES: ScheduleType[] = ['cron', 'once', 'interval'];
const TARGET_TYPES: TargetType[] = ['any', 'node', 'group', 'tags'];
const KIND_TYPES: KindType[] = ['handler', 'shell', 'http'];
const SHELL_MODES: ShellMode[] = ['sh', 'program'];

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <fieldset className="panel form-section">
      <legend>{title}</legend>
      {children}
    </fieldset>
  );
}

/** A segmented choice (radio buttons styled as tabs). */
function Segmented<T extends string>({
  name,
  value,
  options,
  label,
  onChange,
  testId,
}: {
  name: string;
  value: T;
  options: { value: T; label: string }[];
  label: string;
  onChange: (v: T) => void;
  testId: string;
}) {
  return (
    <div className="segmented" role="radiogroup" aria-label={label} data-testid={testId}>
      {options.map((o) => (
        <label key={o.value} className={o.value === value ? 'active' : ''}>
          <input
            type="radio"
            name={name}
            value={o.value}
            checked={o.value === value}
            onChange={() => onChange(o.value)}
            data-testid={`${testId}-${o.value}`}
          />
          {o.label}
        </label>
      ))}
    </div>
  );
}

/** Every input of a job; the state → JobInput mapping lives in lib/jobForm.ts. */
export function JobForm({
  form,
  onChange,
  clientErrors = {},
  serverFields = {},
  contacts = [],
  handlers,
}: {
  form: JobFormState;
  onChange: (next: JobFormState) => void;
  clientErrors?: ClientErrors;
  serverFields?: Record<string, string>;
  contacts?: Contact[];
  /** The handlers live agents serve (GET /api/machines); undefined while not known. */
  handlers?: readonly string[] | undefined;
}) {
  const t = useT();
  const set = <K extends keyof JobFormState>(key: K, value: JobFormState[K]) => onChange({ ...form, [key]: value });
  const err = (...paths: string[]): string | undefined => {
    for (const p of paths) if (clientErrors[p]) return t(clientErrors[p]);
    return fieldError(serverFields, ...paths);
  };
  /**
   * The error of a kind's main field, or one about the kind as a whole (`kind` itself: a kind the
   * server cannot read), never another kind field's (`kind.expectStatus` has its own).
   */
  const kindErr = (path: string): string | undefined =>
    err(path) ?? (clientErrors.kind ? t(clientErrors.kind) : undefined) ?? serverFields.kind;
  const text = (key: keyof JobFormState, id: string, props: Record<string, unknown> = {}) => (
    <input
      id={id}
      value={form[key] as string}
      onChange={(e) => set(key, e.target.value as never)}
      data-testid={id}
      autoComplete="off"
      {...props}
    />
  );
  const code = (key: 'payload' | 'shellArgs' | 'httpBody' | 'httpHeaders', id: string, rows: number) => (
    <textarea
      id={id}
      className="code"
      rows={rows}
      value={form[key]}
      onChange={(e) => set(key, e.target.value)}
      spellCheck={false}
      data-testid={id}
    />
  );
  const schedule = schedulePart(form).schedule;
  const previewSchedule = form.scheduleType === 'cron' ? null : schedule;

  return (
    <div className="job-form">
      <Section title={t('job.section.basics')}>
        <div className="row">
          <Field label={t('job.name')} htmlFor="job-name" error={err('name')} testId="job-name">
            {text('name', 'job-name', { required: true, maxLength: 200 })}
          </Field>
          <Field label={t('job.group')} htmlFor="job-group" error={err('group')} testId="job-group">
            {text('group', 'job-group', { maxLength: 100 })}
          </Field>
          <div className="field field-check">
            <label>
              <input type="checkbox" checked={form.enabled} onChange={(e) => set('enabled', e.target.checked)} data-testid="job-enabled" />
              {t('job.enabled')}
            </label>
          </div>
        </div>
        <Field label={t('job.description')} htmlFor="job-description" error={err('description')} wide testId="job-description">
          <textarea
            id="job-description"
            rows={2}
            value={form.description}
            onChange={(e) => set('description', e.target.value)}
            maxLength={2000}
            data-testid="job-description"
          />
        </Field>
      </Section>

      <Section title={t('job.section.schedule')}>
        <Segmented
          name="schedule-type"
          label={t('job.scheduleType')}
          value={form.scheduleType}
          options={SCHEDULE_TYPES.map((v) => ({ value: v, label: t(`schedule.type.${v}` as MessageKey) }))}
          onChange={(v) => set('scheduleType', v)}
          testId="job-schedule-type"
        />
        {form.scheduleType === 'cron' && (
          <CronField
            expr={form.cronExpr}
            timezone={form.timezone}
            onExprChange={(v) => set('cronExpr', v)}
            onTimezoneChange={(v) => set('timezone', v)}
            exprError={err('schedule.expr')}
            timezoneError={err('schedule.timezone')}
          />
        )}
        {form.scheduleType !== 'cron' && (
          <div className="schedule-grid">
            <div>
              {form.scheduleType === 'once' && (
                <div className="row">
                  <Field
                    label={t('job.onceAt')}
                    htmlFor="job-once-at"
                    error={err('schedule.at')}
                    hint={t('job.localTimeHint', { zone: browserTimeZone() })}
                    testId="job-once-at"
                  >
                    <input
                      id="job-once-at"
                      type="datetime-local"
                      step={1}
                      value={form.onceAt}
                      onChange={(e) => set('onceAt', e.target.value)}
                      data-testid="job-once-at"
                    />
                  </Field>
                  <div className="field field-check">
                    <label>
                      <input
                        type="checkbox"
                        checked={form.deleteWhenDone}
                        onChange={(e) => set('deleteWhenDone', e.target.checked)}
                        data-testid="job-delete-when-done"
                      />
                      {t('job.deleteWhenDone')}
                    </label>
                  </div>
                </div>
              )}
              {form.scheduleType === 'interval' && (
                <div className="row">
                  <Field
                    label={t('job.intervalSeconds')}
                    htmlFor="job-interval-seconds"
                    error={err('schedule.everyMs')}
                    testId="job-interval-seconds"
                  >
                    {text('intervalSeconds', 'job-interval-seconds', { type: 'number', min: 1, step: 1, className: 'narrow' })}
                  </Field>
                </div>
              )}
            </div>
            <SchedulePreview schedule={previewSchedule} />
          </div>
        )}
      </Section>

      <Section title={t('job.section.target')}>
        <div className="row">
          <Field label={t('job.targetType')} htmlFor="job-target-type">
            <select
              id="job-target-type"
              value={form.targetType}
              onChange={(e) => set('targetType', e.target.value as TargetType)}
              data-testid="job-target-type"
            >
              {TARGET_TYPES.map((v) => (
                <option key={v} value={v}>
                  {t(`target.${v}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          {form.targetType === 'node' && (
            <Field label={t('job.targetNode')} htmlFor="job-target-node" error={err('target.nodeId', 'target')} testId="job-target-node">
              {text('targetNode', 'job-target-node', { className: 'mono' })}
            </Field>
          )}
          {form.targetType === 'group' && (
            <Field label={t('job.targetGroup')} htmlFor="job-target-group" error={err('target.group', 'target')} testId="job-target-group">
              {text('targetGroup', 'job-target-group')}
            </Field>
          )}
          {form.targetType === 'tags' && (
            <Field
              label={t('job.targetTags')}
              htmlFor="job-target-tags"
              error={err('target.tags', 'target')}
              hint={t('job.commaSeparated')}
              testId="job-target-tags"
            >
              {text('targetTags', 'job-target-tags')}
            </Field>
          )}
          <Field label={t('job.routing')} htmlFor="job-routing" error={err('routing')}>
            <select
              id="job-routing"
              value={form.routing}
              onChange={(e) => set('routing', e.target.value as JobFormState['routing'])}
              data-testid="job-routing"
            >
              {ROUTINGS.map((v) => (
                <option key={v} value={v}>
                  {t(`routing.${v}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
        </div>
      </Section>

      <Section title={t('job.section.kind')}>
        <Segmented
          name="kind-type"
          label={t('job.kindType')}
          value={form.kindType}
          options={KIND_TYPES.map((v) => ({ value: v, label: t(`kind.${v}` as MessageKey) }))}
          onChange={(v) => set('kindType', v)}
          testId="job-kind-type"
        />
        {form.kindType === 'handler' && (
          <>
            <Field
              label={t('job.handlerName')}
              htmlFor="job-handler-name"
              error={kindErr('kind.name')}
              hint={t('job.handlerHint')}
              testId="job-handler-name"
            >
              {text('handlerName', 'job-handler-name', { className: 'mono', list: 'job-handler-list' })}
              <datalist id="job-handler-list">
                {(handlers ?? []).map((h) => (
                  <option key={h} value={h} />
                ))}
              </datalist>
              {handlers && form.handlerName.trim() !== '' && !handlers.includes(form.handlerName.trim()) && (
                <div className="field-warning" role="status" data-testid="job-handler-warning">
                  {handlers.length ? t('job.handlerNotServed', { served: handlers.join(', ') }) : t('job.handlerNoAgents')}
                </div>
              )}
            </Field>
            <Field label={t('job.payload')} htmlFor="job-payload" error={err('payload')} wide testId="job-payload">
              {code('payload', 'job-payload', 5)}
            </Field>
          </>
        )}
        {form.kindType === 'shell' && (
          <>
            <Segmented
              name="shell-mode"
              label={t('job.shellMode')}
              value={form.shellMode}
              options={SHELL_MODES.map((v) => ({ value: v, label: t(`job.shellMode.${v}` as MessageKey) }))}
              onChange={(v) => set('shellMode', v)}
              testId="job-shell-mode"
            />
            <div className="hint" data-testid="job-shell-mode-hint">
              {t(`job.shellMode.${form.shellMode}.hint` as MessageKey)}
            </div>
            {form.shellMode === 'sh' ? (
              <Field label={t('job.shellLine')} htmlFor="job-shell-line" error={kindErr('kind.args')} wide testId="job-shell-line">
                {text('shellLine', 'job-shell-line', { className: 'mono wide-input', placeholder: 'echo hi && date' })}
              </Field>
            ) : (
              <Field label={t('job.shellCommand')} htmlFor="job-shell-command" error={kindErr('kind.command')} testId="job-shell-command">
                {text('shellCommand', 'job-shell-command', { className: 'mono' })}
              </Field>
            )}
            <Field label={t('job.shellCwd')} htmlFor="job-shell-cwd" error={err('kind.cwd')} testId="job-shell-cwd">
              {text('shellCwd', 'job-shell-cwd', { className: 'mono' })}
            </Field>
            {form.shellMode === 'program' && (
              <Field
                label={t('job.shellArgs')}
                htmlFor="job-shell-args"
                error={err('kind.args')}
                hint={t('job.onePerLine')}
                wide
                testId="job-shell-args"
              >
                {code('shellArgs', 'job-shell-args', 3)}
              </Field>
            )}
          </>
        )}
        {form.kindType === 'http' && (
          <>
            <div className="row">
              <Field label={t('job.httpMethod')} htmlFor="job-http-method" error={err('kind.method')}>
                <select
                  id="job-http-method"
                  value={form.httpMethod}
                  onChange={(e) => set('httpMethod', e.target.value as HttpMethod)}
                  data-testid="job-http-method"
                >
                  {HTTP_METHODS.map((m) => (
                    <option key={m} value={m}>
                      {m}
                    </option>
                  ))}
                </select>
              </Field>
              <Field label={t('job.httpUrl')} htmlFor="job-http-url" error={kindErr('kind.url')} testId="job-http-url">
                {text('httpUrl', 'job-http-url', { type: 'url', className: 'mono wide-input', placeholder: 'https://' })}
              </Field>
            </div>
            <Field
              label={t('job.httpHeaders')}
              htmlFor="job-http-headers"
              error={err('kind.headers')}
              hint={t('job.httpHeadersHint')}
              wide
              testId="job-http-headers"
            >
              {code('httpHeaders', 'job-http-headers', 3)}
            </Field>
            <Field
              label={t('job.httpExpectStatus')}
              htmlFor="job-http-expect-status"
              error={err('kind.expectStatus')}
              hint={t('job.httpExpectStatusHint')}
              testId="job-http-expect-status"
            >
              {text('httpExpectStatus', 'job-http-expect-status', { className: 'mono', placeholder: t('job.httpExpectStatusNone') })}
            </Field>
            {form.httpMethod !== 'GET' && form.httpMethod !== 'HEAD' && (
              <Field label={t('job.httpBody')} htmlFor="job-http-body" error={err('kind.body')} wide testId="job-http-body">
                {code('httpBody', 'job-http-body', 3)}
              </Field>
            )}
          </>
        )}
      </Section>

      <Section title={t('job.section.policy')}>
        <div className="row">
          <Field label={t('job.timeoutSeconds')} htmlFor="job-timeout" error={err('timeoutMs')} testId="job-timeout">
            {text('timeoutSeconds', 'job-timeout', { type: 'number', min: 0.1, step: 'any', className: 'narrow' })}
          </Field>
          <Field label={t('job.retriesMax')} htmlFor="job-retries" error={err('retries.max', 'retries')} testId="job-retries">
            {text('retriesMax', 'job-retries', { type: 'number', min: 0, max: 100, step: 1, className: 'narrow' })}
          </Field>
          <Field
            label={t('job.retryBackoffSeconds')}
            htmlFor="job-retry-backoff"
            error={err('retries.backoffMs')}
            testId="job-retry-backoff"
          >
            {text('retryBackoffSeconds', 'job-retry-backoff', { type: 'number', min: 0, step: 'any', className: 'narrow' })}
          </Field>
          <Field label={t('job.concurrency')} htmlFor="job-concurrency" error={err('concurrency')}>
            <select
              id="job-concurrency"
              value={form.concurrency}
              onChange={(e) => set('concurrency', e.target.value as JobFormState['concurrency'])}
              data-testid="job-concurrency"
            >
              {CONCURRENCIES.map((v) => (
                <option key={v} value={v}>
                  {t(`concurrency.${v}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('job.misfire')} htmlFor="job-misfire" error={err('misfire')}>
            <select
              id="job-misfire"
              value={form.misfire}
              onChange={(e) => set('misfire', e.target.value as JobFormState['misfire'])}
              data-testid="job-misfire"
            >
              {MISFIRES.map((v) => (
                <option key={v} value={v}>
                  {t(`misfire.${v}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
        </div>
      </Section>

      <Section title={t('job.section.startDeadline')}>
        <div className="row">
          <Field
            label={t('job.startDeadlineSeconds')}
            htmlFor="job-start-deadline"
            error={err('startDeadlineMs')}
            hint={t('job.startDeadlineHint', {
              rule: defaultStartDeadlineText(schedule ?? (form.scheduleType === 'interval' ? null : { type: form.scheduleType }), t),
            })}
            testId="job-start-deadline"
          >
            {text('startDeadlineSeconds', 'job-start-deadline', { type: 'number', min: 0, step: 'any', className: 'narrow' })}
          </Field>
          <Field
            label={t('job.onStartDeadline')}
            htmlFor="job-on-start-deadline"
            error={err('onStartDeadline')}
            testId="job-on-start-deadline"
          >
            <select
              id="job-on-start-deadline"
              value={form.onStartDeadline}
              onChange={(e) => set('onStartDeadline', e.target.value as JobFormState['onStartDeadline'])}
              data-testid="job-on-start-deadline"
            >
              {START_DEADLINE_OUTCOMES.map((v) => (
                <option key={v} value={v}>
                  {t(`startDeadlineOutcome.${v}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          <div className="field field-check">
            <label>
              <input
                type="checkbox"
                checked={form.incidentOnStartDeadline}
                onChange={(e) => set('incidentOnStartDeadline', e.target.checked)}
                data-testid="job-incident-on-start-deadline"
              />
              {t('job.incidentOnStartDeadline')}
            </label>
            {err('incidentOnStartDeadline') && (
              <div className="field-error" role="alert" data-testid="job-incident-on-start-deadline-error">
                {err('incidentOnStartDeadline')}
              </div>
            )}
          </div>
        </div>
      </Section>

      <Section title={t('job.section.contacts')}>
        {err('contacts') && <div className="field-error">{err('contacts')}</div>}
        {contacts.length === 0 && form.contacts.length === 0 ? (
          <div className="muted">{t('job.noContacts')}</div>
        ) : (
          <div className="checks" data-testid="job-contacts">
            {contacts.map((c) => (
              <label key={c.id} className="check">
                <input
                  type="checkbox"
                  checked={form.contacts.includes(c.id)}
                  onChange={(e) => set('contacts', e.target.checked ? [...form.contacts, c.id] : form.contacts.filter((x) => x !== c.id))}
                  data-testid="job-contact"
                  data-contact-id={c.id}
                />
                {c.name} <span className="muted">&lt;{c.email}&gt;</span>
              </label>
            ))}
            {form.contacts
              .filter((id) => !contacts.some((c) => c.id === id))
              .map((id) => (
                <label key={id} className="check">
                  <input
                    type="checkbox"
                    checked
                    onChange={() =>
                      set(
                        'contacts',
                        form.contacts.filter((x) => x !== id),
                      )
                    }
                  />
                  <span className="muted">{t('job.unknownContact', { id })}</span>
                </label>
              ))}
          </div>
        )}
      </Section>
    </div>
  );
}
