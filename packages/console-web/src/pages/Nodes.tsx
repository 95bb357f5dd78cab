import { useMemo, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { NodeViewKind, NodeView } from '../api/types';
import { useCan } from '../auth';
import { useNotify } from '../components/notify';
import { ConfirmDialog, Empty, ErrorBanner, Field, JsonView, Loading, Modal, PageHeader, Props, errorText } from '../components/ui';
import { fieldTexts } from '../lib/issues';
import { useT, type MessageKey } from '../i18n';
import { formatDuration, json } from '../lib/format';
import { useAsync } from '../lib/hooks';

const KINDS: NodeViewKind[] = ['servers', 'clients', 'monitors', 'other'];
export const NODES_REFRESH_MS = 5000;

export function NodesPage() {
  const t = useT();
  const can = useCan();
  const nodes = useAsync(() => api.nodes(), [], NODES_REFRESH_MS);
  const [kind, setKind] = useState<NodeViewKind | ''>('');
  const [text, setText] = useState('');
  const [viewing, setViewing] = useState<NodeView | null>(null);
  const [editing, setEditing] = useState<NodeView | null>(null);
  const [deleting, setDeleting] = useState<NodeView | null>(null);
  /** A structural node the API refused to delete, with its warning: the second, forced confirmation. */
  const [forcing, setForcing] = useState<{ node: NodeView; warning: string } | null>(null);
  const notify = useNotify();

  const items = useMemo(() => {
    const all = nodes.data?.items ?? [];
    const needle = text.trim().toLowerCase();
    return all.filter(
      (n) => (!kind || n.kind === kind) && (!needle || n.path.toLowerCase().includes(needle) || n.raw.toLowerCase().includes(needle)),
    );
  }, [nodes.data, kind, text]);

  return (
    <div data-testid="page-nodes">
      <PageHeader title={t('nodes.title')}>
        <button type="button" onClick={() => void nodes.reload()} data-testid="nodes-refresh">
          {t('common.refresh')}
        </button>
      </PageHeader>
      <div className="filters">
        <label>
          {t('nodes.kind')}
          <select value={kind} onChange={(e) => setKind(e.target.value as NodeViewKind | '')} data-testid="nodes-kind-filter">
            <option value="">{t('common.all')}</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`nodes.kind.${k}` as MessageKey)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('common.search')}
          <input
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder={t('nodes.searchPlaceholder')}
            data-testid="nodes-search"
          />
        </label>
        <span className="muted small">{t('common.autoRefresh', { n: NODES_REFRESH_MS / 1000 })}</span>
      </div>
      <ErrorBanner error={nodes.error} />
      {!nodes.data && !nodes.error && <Loading />}
      {nodes.data && items.length === 0 && <Empty testId="nodes-empty">{t('nodes.empty')}</Empty>}
      {items.length > 0 && (
        <table className="table" data-testid="nodes-table">
          <thead>
            <tr>
              <th>{t('nodes.path')}</th>
              <th>{t('nodes.kind')}</th>
              <th>{t('nodes.id')}</th>
              <th>{t('nodes.heartbeatAge')}</th>
              <th>{t('nodes.ephemeral')}</th>
              <th className="num">{t('nodes.version')}</th>
              <th className="num">{t('nodes.children')}</th>
              <th className="actions">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((n) => (
              <tr key={n.path} data-testid="node-row" data-path={n.path}>
                <td className="mono">
                  <span style={{ paddingLeft: `${Math.max(0, n.path.split('/').length - 3) * 12}px` }}>{n.path}</span>
                </td>
                <td>{t(`nodes.kind.${n.kind}` as MessageKey)}</td>
                <td className="mono">{n.id}</td>
                <td className={ageClass(n.ageMs)}>{n.ageMs === null ? '—' : formatDuration(n.ageMs, t)}</td>
                <td>{n.ephemeral ? t('common.yes') : t('common.no')}</td>
                <td className="num">{n.version}</td>
                <td className="num">{n.children}</td>
                <td className="actions">
                  <button type="button" className="small" onClick={() => setViewing(n)} data-testid="node-view">
                    {t('common.view')}
                  </button>
                  {can.admin && (
                    <button type="button" className="small" onClick={() => setEditing(n)} data-testid="node-edit">
                      {t('common.edit')}
                    </button>
                  )}
                  {can.admin && (
                    <button type="button" className="small danger" onClick={() => setDeleting(n)} data-testid="node-delete">
                      {t('common.delete')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {viewing && (
        <Modal title={viewing.path} onClose={() => setViewing(null)} testId="node-view-dialog" wide>
          <Props
            rows={[
              [t('nodes.kind'), t(`nodes.kind.${viewing.kind}` as MessageKey)],
              [t('nodes.version'), viewing.version],
              [t('nodes.ephemeral'), viewing.ephemeral ? t('common.yes') : t('common.no')],
              [t('nodes.heartbeatAge'), viewing.ageMs === null ? '—' : formatDuration(viewing.ageMs, t)],
            ]}
          />
          <h3>{t('nodes.data')}</h3>
          <JsonView value={viewing.data !== null ? viewing.data : viewing.raw || t('nodes.noData')} testId="node-data" />
        </Modal>
      )}
      {editing && (
        <NodeEditDialog
          node={editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            notify(t('nodes.saved'));
            setEditing(null);
            void nodes.reload();
          }}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={t('nodes.deleteTitle')}
          message={
            deleting.children > 0
              ? t('nodes.deleteMessageRecursive', { path: deleting.path, n: deleting.children })
              : t('nodes.deleteMessage', { path: deleting.path })
          }
          typeToConfirm={deleting.path}
          onConfirm={async () => {
            try {
              await api.deleteNode(deleting.path, deleting.path);
            } catch (err) {
              // One of clover's own folders: the API says what deleting it does; ask again.
              if (err instanceof ApiError && err.code === 'structural_node') {
                setForcing({ node: deleting, warning: err.message });
                return;
              }
              throw err;
            }
            notify(t('nodes.deleted'));
            void nodes.reload();
          }}
          onClose={() => setDeleting(null)}
        />
      )}
      {forcing && (
        <ConfirmDialog
          title={t('nodes.structuralTitle')}
          message={
            <span data-testid="node-structural-warning">
              {t('nodes.structuralMessage', { path: forcing.node.path })}
              <br />
              <em>{forcing.warning}</em>
            </span>
          }
          confirmLabel={t('nodes.deleteAnyway')}
          onConfirm={async () => {
            await api.deleteNode(forcing.node.path, forcing.node.path, true);
            notify(t('nodes.deletedStructural'));
            void nodes.reload();
          }}
          onClose={() => setForcing(null)}
        />
      )}
    </div>
  );
}

function ageClass(ageMs: number | null): string {
  if (ageMs === null) return 'muted';
  if (ageMs > 30_000) return 'text-bad';
  if (ageMs > 10_000) return 'text-warn';
  return '';
}

function initialText(node: NodeView): string {
  if (node.data !== null && node.data !== undefined) return json(node.data);
  return node.raw;
}

export function NodeEditDialog({ node, onClose, onSaved }: { node: NodeView; onClose: () => void; onSaved: (node: NodeView) => void }) {
  const t = useT();
  const [text, setText] = useState(() => initialText(node));
  const [version, setVersion] = useState(String(node.version));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [conflict, setConflict] = useState(false);
  const [busy, setBusy] = useState(false);

  const save = async () => {
    setError(null);
    setConflict(false);
    let data: unknown;
    try {
      data = JSON.parse(text);
      setJsonError(null);
    } catch (err) {
      setJsonError(t('nodes.badJson', { message: err instanceof Error ? err.message : String(err) }));
      return;
    }
    const v = Number(version);
    if (!Number.isInteger(v)) {
      setError(new Error(t('form.error.number')));
      return;
    }
    setBusy(true);
    try {
      const saved = await api.putNode(node.path, data, v);
      onSaved(saved);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) setConflict(true);
      else setError(err);
      setBusy(false);
    }
  };

  const reload = async () => {
    try {
      const fresh = await api.node(node.path);
      setText(initialText(fresh));
      setVersion(String(fresh.version));
      setConflict(false);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };

  const fields = fieldTexts(error, t);
  return (
    <Modal
      title={t('nodes.editTitle', { path: node.path })}
      onClose={onClose}
      testId="node-edit-dialog"
      wide
      footer={
        <>
          <button type="button" onClick={onClose} data-testid="node-cancel">
            {t('common.cancel')}
          </button>
          <button type="button" className="primary" disabled={busy} onClick={() => void save()} data-testid="node-save">
            {t('common.save')}
          </button>
        </>
      }
    >
      {conflict && (
        <div className="banner banner-error" role="alert" data-testid="node-conflict">
          <span>{t('nodes.conflict')}</span>
          <button type="button" className="small" onClick={() => void reload()} data-testid="node-reload">
            {t('nodes.reload')}
          </button>
        </div>
      )}
      {error != null && (
        <div className="banner banner-error" role="alert" data-testid="node-error">
          {errorText(error, t)}
        </div>
      )}
      <Field label={t('nodes.dataJson')} htmlFor="node-data" error={jsonError ?? fields.data} testId="node-data">
        <textarea
          id="node-data"
          className="code"
          rows={16}
          value={text}
          onChange={(e) => setText(e.target.value)}
          spellCheck={false}
          data-testid="node-data-input"
        />
      </Field>
      <Field label={t('nodes.version')} htmlFor="node-version" hint={t('nodes.versionHint')} error={fields.version}>
        <input
          id="node-version"
          type="number"
          value={version}
          onChange={(e) => setVersion(e.target.value)}
          data-testid="node-version-input"
          className="narrow"
        />
      </Field>
    </Modal>
  );
}
