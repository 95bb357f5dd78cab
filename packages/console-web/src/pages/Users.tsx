import { useState } from 'react';
import { api } from '../api/client';
import type { Role, UserView } from '../api/types';
import { useAuth } from '../auth';
import { useNotify } from '../components/notify';
import { ConfirmDialog, Empty, ErrorBanner, Field, Loading, Modal, PageHeader, SaveCancel, errorText } from '../components/ui';
import { useT, type MessageKey } from '../i18n';
import { useAsync, useSubmit } from '../lib/hooks';
import { fieldTexts } from '../lib/issues';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

/**
 * Users (admins only): add one, change a role, set a new password, disable or enable, delete. The
 * API refuses to delete, demote or disable the last enabled admin and says so; the page shows
 * that answer as it comes.
 */
export function UsersPage() {
  const t = useT();
  const notify = useNotify();
  const { user: me } = useAuth();
  const users = useAsync(() => api.users(), []);
  const [adding, setAdding] = useState(false);
  const [resetting, setResetting] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);

  const changeRole = async (u: UserView, role: Role) => {
    try {
      await api.setUserRole(u.name, role);
      notify(t('users.roleChanged', { name: u.name, role: t(`role.${role}` as MessageKey) }));
    } catch (err) {
      notify(errorText(err, t), 'error');
    }
    await users.reload();
  };

  const setDisabled = async (u: UserView, disabled: boolean) => {
    try {
      await api.setUserDisabled(u.name, disabled);
      notify(t(disabled ? 'users.disabledNow' : 'users.enabledNow', { name: u.name }));
    } catch (err) {
      notify(errorText(err, t), 'error');
    }
    await users.reload();
  };

  return (
    <div data-testid="page-users">
      <PageHeader title={t('users.title')}>
        <button type="button" className="primary" onClick={() => setAdding(true)} data-testid="user-new">
          {t('users.new')}
        </button>
      </PageHeader>
      <p className="muted">{t('users.intro')}</p>
      <ErrorBanner error={users.error} />
      {!users.data && !users.error && <Loading />}
      {users.data && users.data.items.length === 0 && <Empty>{t('users.empty')}</Empty>}
      {users.data && users.data.items.length > 0 && (
        <table className="table" data-testid="users-table">
          <thead>
            <tr>
              <th>{t('users.name')}</th>
              <th>{t('users.role')}</th>
              <th>{t('users.grants')}</th>
              <th className="num">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {users.data.items.map((u) => (
              <tr key={u.name} data-testid="user-row" data-user-name={u.name} data-role={u.role} data-disabled={u.disabled}>
                <td className="strong">
                  {u.name} {u.name === me.name && <span className="muted small">{t('users.you')}</span>}
                  {u.disabled && (
                    <>
                      {' '}
                      <span className="badge badge-idle" data-testid="user-disabled-badge">
                        {t('users.disabled')}
                      </span>
                    </>
                  )}
                </td>
                <td>
                  <select
                    value={u.role}
                    onChange={(e) => void changeRole(u, e.target.value as Role)}
                    aria-label={t('users.role')}
                    data-testid="user-role"
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {t(`role.${r}` as MessageKey)}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{u.grants.length ? u.grants.join(', ') : <span className="muted">—</span>}</td>
                <td className="num nowrap">
                  <button type="button" className="small" onClick={() => setResetting(u.name)} data-testid="user-reset-password">
                    {t('users.resetPassword')}
                  </button>{' '}
                  <button
                    type="button"
                    className="small"
                    onClick={() => void setDisabled(u, !u.disabled)}
                    data-testid={u.disabled ? 'user-enable' : 'user-disable'}
                  >
                    {t(u.disabled ? 'users.enable' : 'users.disable')}
                  </button>{' '}
                  <button type="button" className="small danger" onClick={() => setDeleting(u.name)} data-testid="user-delete">
                    {t('common.delete')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {adding && (
        <UserDialog
          onClose={() => setAdding(false)}
          onSaved={(name) => {
            setAdding(false);
            notify(t('users.added', { name }));
            void users.reload();
          }}
        />
      )}
      {resetting && (
        <PasswordDialog
          name={resetting}
          onClose={() => setResetting(null)}
          onSaved={() => {
            notify(t('users.passwordSet', { name: resetting }));
            setResetting(null);
          }}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={t('users.deleteTitle')}
          message={t('users.deleteMessage', { name: deleting })}
          onConfirm={async () => {
            await api.deleteUser(deleting);
            notify(t('users.deleted', { name: deleting }));
            await users.reload();
          }}
          onClose={() => setDeleting(null)}
        />
      )}
    </div>
  );
}

function UserDialog({ onClose, onSaved }: { onClose: () => void; onSaved: (name: string) => void }) {
  const t = useT();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const { submit, busy, error } = useSubmit(async () => {
    await api.createUser({ name: name.trim(), password, role });
    onSaved(name.trim());
  });
  const fields = fieldTexts(error, t);
  return (
    <Modal
      title={t('users.new')}
      onClose={onClose}
      testId="user-dialog"
      footer={<SaveCancel onCancel={onClose} onSave={() => void submit()} busy={busy} testId="user" />}
    >
      <form onSubmit={(e) => void submit(e)} noValidate>
        {error != null && Object.keys(fields).length === 0 && <ErrorBanner error={error} testId="user-error" />}
        <Field label={t('users.name')} htmlFor="user-name" error={fields.name} testId="user-name">
          <input id="user-name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" data-testid="user-name" />
        </Field>
        <NewPasswordField id="user-password" label={t('users.password')} value={password} onChange={setPassword} error={fields.password} />
        <Field label={t('users.role')} htmlFor="user-role-new">
          <select id="user-role-new" value={role} onChange={(e) => setRole(e.target.value as Role)} data-testid="user-role-new">
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}` as MessageKey)}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" hidden />
      </form>
    </Modal>
  );
}

/** A new password's field, as both the new-user and the reset dialogs ask for it; `id` is its input's id and test id. */
function NewPasswordField(props: { id: string; label: string; value: string; onChange: (v: string) => void; error?: string }) {
  const t = useT();
  return (
    <Field label={props.label} htmlFor={props.id} error={props.error} hint={t('users.passwordHint')} testId={props.id}>
      <input
        id={props.id}
        type="password"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        autoComplete="new-password"
        data-testid={props.id}
      />
    </Field>
  );
}

function PasswordDialog({ name, onClose, onSaved }: { name: string; onClose: () => void; onSaved: () => void }) {
  const t = useT();
  const [password, setPassword] = useState('');
  const { submit: save, error } = useSubmit(async () => {
    await api.setUserPassword(name, password);
    onSaved();
  });
  return (
    <Modal
      title={t('users.resetTitle', { name })}
      onClose={onClose}
      testId="password-dialog"
      footer={<SaveCancel onCancel={onClose} onSave={() => void save()} testId="password" />}
    >
      <form onSubmit={(e) => void save(e)} noValidate>
        <NewPasswordField
          id="password-input"
          label={t('users.newPassword')}
          value={password}
          onChange={setPassword}
          error={fieldTexts(error, t).password}
        />
        <button type="submit" hidden />
      </form>
    </Modal>
  );
}
