import { useEffect, useId, useRef, useState, type KeyboardEvent as ReactKeyboardEvent, type ReactNode } from 'react';
import { ApiError } from '../api/client';
import type { RunStatus } from '../api/types';
import { fieldTexts } from '../lib/issues';
import { useT, type MessageKey } from '../i18n';
import { json } from '../lib/format';
import { useLatest } from '../lib/hooks';

/** The user-facing text of a failure: the API's `message`, or a generic line. */
export function errorText(error: unknown, t: ReturnType<typeof useT>): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return t('error.network');
    if (error.status === 429) return t('error.tooMany');
    if (error.status === 403 && error.code === 'forbidden') return `${t('error.forbidden')} (${error.message})`;
    if (error.code === 'validation_failed') return t('error.validationFailed');
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

export function ErrorBanner({ error, testId = 'error-banner' }: { error: unknown; testId?: string }) {
  const t = useT();
  if (!error) return null;
  const fields = Object.entries(fieldTexts(error, t));
  return (
    <div className="banner banner-error" role="alert" data-testid={testId}>
      <span>{errorText(error, t)}</span>
      {fields.length > 0 && (
        <ul className="banner-fields">
          {fields.map(([k, v]) => (
            <li key={k}>
              <code>{k}</code>: {v}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Empty({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <div className="empty" data-testid={testId}>
      {children}
    </div>
  );
}

export function Loading() {
  const t = useT();
  return <div className="loading">{t('common.loading')}</div>;
}

type BadgeKind = 'ok' | 'bad' | 'busy' | 'idle' | 'warn';

/** Every status has its colour: a status added to the model fails to compile here until it has one. */
const STATUS_CLASS: Record<RunStatus, BadgeKind> = {
  succeeded: 'ok',
  failed: 'bad',
  timed_out: 'bad',
  lost: 'bad',
  running: 'busy',
  dispatched: 'busy',
  // Fired, but no agent has a free slot for it yet: not wrong, yet worth an eye when it lasts.
  waiting: 'warn',
  scheduled: 'idle',
  skipped: 'idle',
  cancelled: 'idle',
};

export function StatusBadge({ status }: { status: RunStatus | null | undefined }) {
  const t = useT();
  if (!status) return <span className="muted">—</span>;
  return (
    <span className={`badge badge-${STATUS_CLASS[status]}`} data-status={status}>
      {t(`status.${status}` as MessageKey)}
    </span>
  );
}

export function Badge({ kind = 'idle', children }: { kind?: BadgeKind; children: ReactNode }) {
  return <span className={`badge badge-${kind}`}>{children}</span>;
}

export function JsonView({ value, testId }: { value: unknown; testId?: string }) {
  return (
    <pre className="json" data-testid={testId}>
      {typeof value === 'string' ? value : json(value)}
    </pre>
  );
}

/** A labelled control with its error line underneath. */
export function Field({
  label,
  error,
  hint,
  children,
  htmlFor,
  wide,
  testId,
}: {
  label: ReactNode;
  error?: string | undefined;
  hint?: ReactNode;
  children: ReactNode;
  htmlFor?: string;
  wide?: boolean;
  testId?: string;
}) {
  return (
    <div className={`field${wide ? ' field-wide' : ''}${error ? ' field-invalid' : ''}`}>
      <label htmlFor={htmlFor}>{label}</label>
      {children}
      {hint && !error && <div className="hint">{hint}</div>}
      {error && (
        <div className="field-error" role="alert" data-testid={testId ? `${testId}-error` : undefined}>
          {error}
        </div>
      )}
    </div>
  );
}

export function Modal({
  title,
  children,
  footer,
  onClose,
  testId,
  wide,
}: {
  title: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
  onClose: () => void;
  testId?: string;
  wide?: boolean;
}) {
  const titleId = useId();
  const ref = useRef<HTMLDivElement>(null);
  // Once per opening: focus the first control, and close on Escape with the latest onClose.
  const onCloseRef = useLatest(onClose);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onCloseRef.current();
    };
    window.addEventListener('keydown', onKey);
    const first = ref.current?.querySelector<HTMLElement>('textarea, input, select, button.primary');
    first?.focus();
    return () => window.removeEventListener('keydown', onKey);
  }, [onCloseRef]);
  const t = useT();
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        className={`modal${wide ? ' modal-wide' : ''}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid={testId}
        ref={ref}
      >
        <div className="modal-head">
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="icon" aria-label={t('common.close')} onClick={onClose} data-testid="modal-close">
            ×
          </button>
        </div>
        <div className="modal-body">{children}</div>
        {footer && <div className="modal-foot">{footer}</div>}
      </div>
    </div>
  );
}

/**
 * Asks before something destructive. With `typeToConfirm`, the button stays disabled until the
 * user has typed that text.
 */
export function ConfirmDialog({
  title,
  message,
  confirmLabel,
  typeToConfirm,
  onConfirm,
  onClose,
}: {
  title: ReactNode;
  message: ReactNode;
  confirmLabel?: string;
  typeToConfirm?: string;
  onConfirm: () => unknown;
  onClose: () => void;
}) {
  const t = useT();
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const ready = typeToConfirm === undefined || typed === typeToConfirm;
  const inputId = useId();
  const go = async () => {
    if (!ready || busy) return;
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal
      title={title}
      onClose={onClose}
      testId="confirm-dialog"
      footer={
        <>
          <button type="button" onClick={onClose} data-testid="confirm-cancel">
            {t('common.cancel')}
          </button>
          <button type="button" className="danger" disabled={!ready || busy} onClick={() => void go()} data-testid="confirm-ok">
            {confirmLabel ?? t('common.delete')}
          </button>
        </>
      }
    >
      <p>{message}</p>
      {typeToConfirm !== undefined && (
        <div className="field">
          <label htmlFor={inputId}>{t('confirm.typeToConfirm', { text: typeToConfirm })}</label>
          <input
            id={inputId}
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            onKeyDown={(e) => e.key === 'Enter' && void go()}
            autoComplete="off"
            spellCheck={false}
            data-testid="confirm-input"
          />
        </div>
      )}
      <ErrorBanner error={error} testId="confirm-error" />
    </Modal>
  );
}

export function LoadMore({ nextCursor, loading, onClick }: { nextCursor: string | null; loading: boolean; onClick: () => void }) {
  const t = useT();
  if (!nextCursor) return null;
  return (
    <div className="load-more">
      <button type="button" onClick={onClick} disabled={loading} data-testid="load-more">
        {loading ? t('common.loading') : t('common.loadMore')}
      </button>
    </div>
  );
}

export function PageHeader({ title, children, testId }: { title: ReactNode; children?: ReactNode; testId?: string }) {
  return (
    <div className="page-head">
      <h1 data-testid={testId ?? 'page-title'}>{title}</h1>
      <div className="page-actions">{children}</div>
    </div>
  );
}

/** Definition list of label → value rows. */
export function Props({ rows }: { rows: [ReactNode, ReactNode][] }) {
  return (
    <dl className="props">
      {rows.map(([k, v], i) => (
        <div key={i} className="prop">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Click and keyboard (Enter / Space) handlers for a clickable table row. */
export function activate(fn: () => void) {
  return {
    onClick: fn,
    onKeyDown: (e: ReactKeyboardEvent<HTMLElement>) => {
      if (e.target !== e.currentTarget || (e.key !== 'Enter' && e.key !== ' ')) return;
      e.preventDefault();
      fn();
    },
    tabIndex: 0,
  };
}

/** A form dialog's footer: Cancel, and Save (disabled while `busy`); `testId` names them `<testId>-cancel` and `<testId>-save`. */
export function SaveCancel({
  onCancel,
  onSave,
  busy = false,
  testId,
}: {
  onCancel: () => void;
  onSave: () => void;
  busy?: boolean;
  testId: string;
}) {
  const t = useT();
  return (
    <>
      <button type="button" onClick={onCancel} data-testid={`${testId}-cancel`}>
        {t('common.cancel')}
      </button>
      <button type="button" className="primary" disabled={busy} onClick={onSave} data-testid={`${testId}-save`}>
        {t('common.save')}
      </button>
    </>
  );
}
