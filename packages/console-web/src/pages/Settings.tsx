import { useState } from 'react';
import { api } from '../api/client';
import type { ClusterSettings } from '../api/types';
import { useCan } from '../auth';
import { useNotify } from '../components/notify';
import { ErrorBanner, Field, Loading, PageHeader } from '../components/ui';
import { useT, type MessageKey } from '../i18n';
import { useAsync, useSubmit } from '../lib/hooks';
import { fieldTexts } from '../lib/issues';

const KINDS = ['servers', 'clients', 'monitors'] as const;
type Kind = (typeof KINDS)[number];
type Form = { heartbeat: string; quiet: string; digest: string; language: '' | 'en' | 'zh' } & Record<Kind, string>;

const seconds = (ms: number) => String(ms / 1000);
const formOf = (s: ClusterSettings): Form => ({
  heartbeat: seconds(s.config.heartbeatIntervalMs),
  servers: seconds(s.config.deadTimeoutMs.servers),
  clients: seconds(s.config.deadTimeoutMs.clients),
  monitors: seconds(s.config.deadTimeoutMs.monitors),
  quiet: s.config.quietPeriodMs === undefined ? '' : seconds(s.config.quietPeriodMs),
  digest: s.config.digestWindowMs === undefined ? '' : seconds(s.config.digestWindowMs),
  language: s.config.language ?? '',
});
/** An optional setting: empty leaves it out, and each monitor applies its own. */
const optionalMs = (text: string) => (text.trim() === '' ? undefined : ms(text));
/** Seconds as typed → ms; NaN for what is not a number, which the API refuses with a field message. */
const ms = (text: string) => (text.trim() === '' ? NaN : Math.round(Number(text) * 1000));

/**
 * The cluster settings (/clover/config): how often every process beats, how long each kind may
 * be silent before the monitor declares it dead, and the monitor's mail quiet period and digest
 * window (empty: each monitor's own setting). Admins edit; the API validates and checks the
 * version read, as a node edit does; every process follows a change as it is written.
 */
export function SettingsPage() {
  const t = useT();
  const can = useCan();
  const settings = useAsync(() => api.settings(), []);
  if (settings.error && !settings.data) return <ErrorBanner error={settings.error} />;
  if (!settings.data) return <Loading />;
  return <SettingsForm key={settings.data.version} settings={settings.data} readOnly={!can.admin} onSaved={settings.setData} t={t} />;
}

function SettingsForm({
  settings,
  readOnly,
  onSaved,
  t,
}: {
  settings: ClusterSettings;
  readOnly: boolean;
  onSaved: (s: ClusterSettings) => void;
  t: ReturnType<typeof useT>;
}) {
  const notify = useNotify();
  const [form, setForm] = useState<Form>(() => formOf(settings));
  const { submit, busy, error } = useSubmit(async () => {
    const saved = await api.saveSettings({
      heartbeatIntervalMs: ms(form.heartbeat),
      deadTimeoutMs: { servers: ms(form.servers), clients: ms(form.clients), monitors: ms(form.monitors) },
      quietPeriodMs: optionalMs(form.quiet),
      digestWindowMs: optionalMs(form.digest),
      ...(form.language ? { language: form.language } : {}),
      version: settings.version,
    });
    notify(t('settings.saved'));
    onSaved(saved);
  });
  const fields = fieldTexts(error, t);
  const input = (key: keyof Form, id: string) => (
    <input
      id={id}
      type="number"
      step="any"
      min={0}
      className="narrow"
      value={form[key]}
      disabled={readOnly}
      onChange={(e) => setForm({ ...form, [key]: e.target.value })}
      data-testid={id}
    />
  );
  const d = settings.defaults;
  return (
    <form onSubmit={(e) => void submit(e)} noValidate data-testid="page-settings">
      <PageHeader title={t('settings.title')}>
        {!readOnly && (
          <button type="submit" className="primary" disabled={busy} data-testid="settings-save">
            {t('common.save')}
          </button>
        )}
      </PageHeader>
      <p className="muted">{t('settings.intro')}</p>
      {error != null && <ErrorBanner error={error} testId="settings-error" />}
      <fieldset className="panel form-section">
        <legend>{t('settings.heartbeat')}</legend>
        <Field
          label={t('settings.heartbeatInterval')}
          htmlFor="settings-heartbeat"
          error={fields.heartbeatIntervalMs}
          hint={t('settings.default', { n: d.heartbeatIntervalMs / 1000 })}
          testId="settings-heartbeat"
        >
          {input('heartbeat', 'settings-heartbeat')}
        </Field>
      </fieldset>
      <fieldset className="panel form-section">
        <legend>{t('settings.deadTimeout')}</legend>
        <p className="muted small">{t('settings.deadTimeoutHint')}</p>
        <div className="row">
          {KINDS.map((k) => (
            <Field
              key={k}
              label={t(`machines.kind.${k}` as MessageKey)}
              htmlFor={`settings-dead-${k}`}
              error={fields[`deadTimeoutMs.${k}`]}
              hint={t('settings.default', { n: d.deadTimeoutMs[k] / 1000 })}
              testId={`settings-dead-${k}`}
            >
              {input(k, `settings-dead-${k}`)}
            </Field>
          ))}
        </div>
      </fieldset>
      <fieldset className="panel form-section">
        <legend>{t('settings.mail')}</legend>
        <p className="muted small">{t('settings.mailHint')}</p>
        <div className="row">
          <Field
            label={t('settings.quietPeriod')}
            htmlFor="settings-quiet"
            error={fields.quietPeriodMs}
            hint={t('settings.quietPeriodHint')}
            testId="settings-quiet"
          >
            {input('quiet', 'settings-quiet')}
          </Field>
          <Field
            label={t('settings.digestWindow')}
            htmlFor="settings-digest"
            error={fields.digestWindowMs}
            hint={t('settings.digestWindowHint')}
            testId="settings-digest"
          >
            {input('digest', 'settings-digest')}
          </Field>
          <Field label={t('settings.language')} htmlFor="settings-language" hint={t('settings.languageHint')} testId="settings-language">
            <select
              id="settings-language"
              value={form.language}
              disabled={readOnly}
              onChange={(e) => setForm({ ...form, language: e.target.value as '' | 'en' | 'zh' })}
              data-testid="settings-language"
            >
              <option value="">English ({t('settings.languageDefault')})</option>
              <option value="zh">中文</option>
              <option value="en">English</option>
            </select>
          </Field>
        </div>
      </fieldset>
      <p className="muted small" data-testid="settings-version">
        {settings.version < 0 ? t('settings.notWritten') : t('settings.version', { n: settings.version })}
      </p>
    </form>
  );
}
