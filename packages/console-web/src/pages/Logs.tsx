import { Fragment, useState } from 'react';
import { api } from '../api/client';
import { LOG_LEVELS, type LogLevel } from '../api/types';
import { Empty, ErrorBanner, JsonView, LoadMore, Loading, PageHeader, activate } from '../components/ui';
import { useT, type MessageKey } from '../i18n';
import { formatTime } from '../lib/format';
import { useDebounced, usePaged } from '../lib/hooks';

const LEVEL_CLASS: Record<LogLevel, string> = { error: 'bad', warn: 'warn', info: 'busy', debug: 'idle' };

export function LogsPage() {
  const t = useT();
  const [level, setLevel] = useState<LogLevel | ''>('');
  const [source, setSource] = useState('');
  const [node, setNode] = useState('');
  const [text, setText] = useState('');
  const [auto, setAuto] = useState(false);
  const key = useDebounced(JSON.stringify({ level, source: source.trim(), node: node.trim(), q: text.trim() }), 300);
  const q = JSON.parse(key) as { level: string; source: string; node: string; q: string };
  const logs = usePaged((cursor, limit) => api.logs({ ...q, cursor, limit }), [key], auto ? 5000 : undefined);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (id: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const filtered = Boolean(q.level || q.source || q.node || q.q);

  return (
    <div data-testid="page-logs">
      <PageHeader title={t('logs.title')}>
        <label className="inline-check">
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} data-testid="logs-auto-refresh" />
          {t('common.autoRefresh', { n: 5 })}
        </label>
        <button type="button" onClick={() => void logs.refresh()} data-testid="logs-refresh">
          {t('common.refresh')}
        </button>
      </PageHeader>
      <div className="filters">
        <label>
          {t('logs.level')}
          <select value={level} onChange={(e) => setLevel(e.target.value as LogLevel | '')} data-testid="logs-level">
            <option value="">{t('common.all')}</option>
            {LOG_LEVELS.map((l) => (
              <option key={l} value={l}>
                {t('logs.levelAndAbove', { level: t(`level.${l}` as MessageKey) })}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('logs.source')}
          <input value={source} onChange={(e) => setSource(e.target.value)} className="narrow" data-testid="logs-source" />
        </label>
        <label>
          {t('logs.node')}
          <input value={node} onChange={(e) => setNode(e.target.value)} className="narrow mono" data-testid="logs-node" />
        </label>
        <label>
          {t('logs.text')}
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} title={t('logs.textHint')} data-testid="logs-text" />
        </label>
      </div>
      <ErrorBanner error={logs.error} />
      {!logs.loaded && !logs.error && <Loading />}
      {logs.loaded && logs.items.length === 0 && <Empty testId="logs-empty">{filtered ? t('logs.noMatch') : t('logs.empty')}</Empty>}
      {logs.items.length > 0 && (
        <table className="table logs" data-testid="logs-table">
          <thead>
            <tr>
              <th className="shrink">{t('logs.time')}</th>
              <th className="shrink">{t('logs.level')}</th>
              <th className="shrink">{t('logs.source')}</th>
              <th className="shrink">{t('logs.node')}</th>
              <th>{t('logs.message')}</th>
            </tr>
          </thead>
          <tbody>
            {logs.items.map((l) => (
              <Fragment key={l.id}>
                <tr
                  className={`clickable${open.has(l.id) ? ' open' : ''}`}
                  {...activate(() => toggle(l.id))}
                  data-testid="log-row"
                  data-level={l.level}
                  aria-expanded={open.has(l.id)}
                >
                  <td className="nowrap mono">{formatTime(l.time)}</td>
                  <td>
                    <span className={`badge badge-${LEVEL_CLASS[l.level]}`}>{t(`level.${l.level}` as MessageKey)}</span>
                  </td>
                  <td className="nowrap">{l.source}</td>
                  <td className="mono nowrap">{l.node ?? '—'}</td>
                  <td className="log-message">{l.message}</td>
                </tr>
                {open.has(l.id) && (
                  <tr className="detail-row">
                    <td colSpan={5}>
                      {Object.keys(l.context).length ? (
                        <JsonView value={l.context} testId="log-context" />
                      ) : (
                        <div className="muted" data-testid="log-context">
                          {t('logs.noContext')}
                        </div>
                      )}
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore nextCursor={logs.nextCursor} loading={logs.loading} onClick={() => void logs.loadMore()} />
    </div>
  );
}
