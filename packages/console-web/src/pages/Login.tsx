import { useState, type SyntheticEvent } from 'react';
import { api, ApiError } from '../api/client';
import type { UserView } from '../api/types';
import { LangSwitch, Logo } from '../components/Layout';
import { useT } from '../i18n';

export function LoginPage({ onLogin, expired }: { onLogin: (user: UserView) => void; expired?: boolean | undefined }) {
  const t = useT();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const { user } = await api.login(username.trim(), password);
      onLogin(user);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401) setError(t('login.invalid'));
      else if (err instanceof ApiError && err.status === 429) {
        setError(
          err.retryAfterSec ? t('login.tooManyWait', { minutes: Math.max(1, Math.ceil(err.retryAfterSec / 60)) }) : t('login.tooMany'),
        );
      } else if (err instanceof ApiError && err.status === 0) setError(t('error.network'));
      else setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <div className="login-wrap">
      <div className="login-lang">
        <LangSwitch />
      </div>
      <form className="login card" onSubmit={(e) => void submit(e)} data-testid="login-form" noValidate>
        <div className="login-brand">
          <Logo size={28} />
          <span>clover</span>
        </div>
        <h1>{t('login.title')}</h1>
        {expired && !error && <div className="banner banner-info">{t('login.expired')}</div>}
        <div className="field">
          <label htmlFor="login-username">{t('login.username')}</label>
          <input
            id="login-username"
            name="username"
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
            autoFocus
            data-testid="login-username"
          />
        </div>
        <div className="field">
          <label htmlFor="login-password">{t('login.password')}</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            data-testid="login-password"
          />
        </div>
        {error && (
          <div className="banner banner-error" role="alert" data-testid="login-error">
            {error}
          </div>
        )}
        <button type="submit" className="primary block" disabled={busy || !username.trim() || !password} data-testid="login-submit">
          {busy ? t('login.signingIn') : t('login.submit')}
        </button>
      </form>
    </div>
  );
}
