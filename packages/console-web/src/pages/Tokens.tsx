import { useState } from 'react';
import { api } from '../api/client';
import { useAuth } from '../auth';
import { useNotify } from '../components/notify';
import { ConfirmDialog, Empty, ErrorBanner, Field, Loading, Modal, PageHeader } from '../components/ui';
import { ZonedTime } from '../components/ZonedTime';
import { useT } from '../i18n';
import { useAsync, useSubmit } from '../lib/hooks';
import { fieldTexts } from '../lib/issues';

/**
 * API tokens (admins only): create one for a user, shown this once (the store keeps its hash);
 * list them; revoke one, which stops it at once.
 */
export function TokensPage() {
  const t = useT();
  const notify = useNotify();
  const tokens = useAsync(() => api.tokens(), []);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  return (
    <div data-testid="page-tokens">
      <PageHeader title={t('tokens.title')}>
        <button type="button" className="primary" onClick={() => setCreating(true)} data-testid="token-new">
          {t('tokens.new')}
        </button>
      </PageHeader>
      <p className="muted">{t('tokens.intro')}</p>
      <ErrorBanner error={tokens.error} />
      {!tokens.data && !tokens.error && <Loading />}
      {tokens.data && tokens.data.items.length === 0 && <Empty testId="tokens-empty">{t('tokens.empty')}</Empty>}
      {tokens.data && tokens.data.items.length > 0 && (
        <table className="table" data-testid="tokens-table">
          <thead>
            <tr>
              <th>{t('tokens.name')}</th>
              <th>{t('tokens.user')}</th>
              <th>{t('tokens.createdAt')}</th>
              <th className="num">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.items.map((k) => (
              <tr key={k.id} data-testid="token-row" data-token-id={k.id} data-token-name={k.name}>
                <td className="strong">{k.name}</td>
                <td>{k.user}</td>
                <td>
                  <ZonedTime iso={k.createdAt} />
                </td>
                <td className="num">
                  <button type="button" className="small danger" onClick={() => setRevoking(k)} data-testid="token-revoke">
                    {t('tokens.revoke')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && (
        <TokenDialog
          onClose={() => {
            setCreating(false);
            void tokens.reload();
          }}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title={t('tokens.revokeTitle')}
          message={t('tokens.revokeMessage', { name: revoking.name })}
          onConfirm={async () => {
            await api.revokeToken(revoking.id);
            notify(t('tokens.revoked', { name: revoking.name }));
            await tokens.reload();
          }}
          onClose={() => setRevoking(null)}
        />
      )}
    </div>
  );
}

function TokenDialog({ onClose }: { onClose: () => void }) {
  const t = useT();
  const { user } = useAuth();
  const users = useAsync(() => api.users(), []);
  const [name, setName] = useState('');
  const [owner, setOwner] = useState(user.name);
  const [secret, setSecret] = useState<string | null>(null);
  const { submit: create, error } = useSubmit(async () => {
    setSecret((await api.createToken(name.trim(), owner)).token);
  });
  const fields = fieldTexts(error, t);
  return (
    <Modal
      title={t('tokens.new')}
      onClose={onClose}
      testId="token-dialog"
      footer={
        secret ? (
          <button type="button" className="primary" onClick={onClose} data-testid="token-done">
            {t('tokens.done')}
          </button>
        ) : (
          <>
            <button type="button" onClick={onClose}>
              {t('common.cancel')}
            </button>
            <button type="button" className="primary" onClick={() => void create()} data-testid="token-create">
              {t('tokens.create')}
            </button>
          </>
        )
      }
    >
      {secret ? (
        <>
          <p>{t('tokens.shownOnce')}</p>
          <pre className="output" data-testid="token-secret">
            {secret}
          </pre>
        </>
      ) : (
        <>
          {error != null && Object.keys(fields).length === 0 && <ErrorBanner error={error} />}
          <Field label={t('tokens.name')} htmlFor="token-name" error={fields.name} hint={t('tokens.nameHint')} testId="token-name">
            <input id="token-name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" data-testid="token-name" />
          </Field>
          <Field label={t('tokens.user')} htmlFor="token-user" hint={t('tokens.userHint')}>
            <select id="token-user" value={owner} onChange={(e) => setOwner(e.target.value)} data-testid="token-user">
              {(users.data?.items ?? [{ name: user.name }]).map((u) => (
                <option key={u.name} value={u.name}>
                  {u.name}
                </option>
              ))}
            </select>
          </Field>
        </>
      )}
    </Modal>
  );
}
