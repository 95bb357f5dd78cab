import type { ReactNode } from 'react';
import { useAuth } from '../auth';
import { LANGS, useI18n, type Lang, type MessageKey } from '../i18n';
import { Link, useLocation } from '../lib/router';

/** The header's pages; `admin`: shown to admins only (the API refuses the rest anyway). */
const NAV: { to: string; key: MessageKey; id: string; admin?: boolean }[] = [
  { to: '/', key: 'nav.dashboard', id: 'dashboard' },
  { to: '/jobs', key: 'nav.jobs', id: 'jobs' },
  { to: '/runs', key: 'nav.runs', id: 'runs' },
  { to: '/machines', key: 'nav.machines', id: 'machines' },
  { to: '/nodes', key: 'nav.nodes', id: 'nodes' },
  { to: '/logs', key: 'nav.logs', id: 'logs' },
  { to: '/incidents', key: 'nav.incidents', id: 'incidents' },
  { to: '/outbox', key: 'nav.outbox', id: 'outbox' },
  { to: '/contacts', key: 'nav.contacts', id: 'contacts' },
  { to: '/settings', key: 'nav.settings', id: 'settings' },
  { to: '/users', key: 'nav.users', id: 'users', admin: true },
  { to: '/tokens', key: 'nav.tokens', id: 'tokens', admin: true },
  { to: '/audit', key: 'nav.audit', id: 'audit', admin: true },
];

const LANG_LABEL: Record<Lang, string> = { en: 'EN', zh: '中文' };

export function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <div className="lang-switch" role="group" aria-label={t('header.language')}>
      {LANGS.map((l) => (
        <button
          key={l}
          type="button"
          className={l === lang ? 'active' : ''}
          aria-pressed={l === lang}
          onClick={() => setLang(l)}
          data-testid={`lang-${l}`}
        >
          {LANG_LABEL[l]}
        </button>
      ))}
    </div>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const { user, logout } = useAuth();
  const { path } = useLocation();
  const active = (to: string) => (to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`));
  return (
    <div className="app">
      <header className="header">
        <Link to="/" className="brand" aria-label={t('app.title')}>
          <Logo />
          <span>clover</span>
        </Link>
        <nav className="nav" aria-label={t('header.nav')}>
          {NAV.filter((n) => !n.admin || user.role === 'admin').map((n) => (
            <Link
              key={n.to}
              to={n.to}
              className={active(n.to) ? 'active' : ''}
              aria-current={active(n.to) ? 'page' : undefined}
              data-testid={`nav-${n.id}`}
            >
              {t(n.key)}
            </Link>
          ))}
        </nav>
        <div className="header-right">
          <span className="whoami" data-testid="current-user">
            <span className="user-name">{user.name}</span>
            <span className={`role role-${user.role}`} data-testid="current-role">
              {t(`role.${user.role}` as MessageKey)}
            </span>
          </span>
          <LangSwitch />
          <button type="button" className="ghost" onClick={logout} data-testid="logout">
            {t('header.logout')}
          </button>
        </div>
      </header>
      <main className="main">{children}</main>
    </div>
  );
}

export function Logo({ size = 20 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" aria-hidden="true">
      <g fill="currentColor">
        <circle cx="8" cy="8" r="4.2" />
        <circle cx="16" cy="8" r="4.2" />
        <circle cx="8" cy="16" r="4.2" />
        <circle cx="16" cy="16" r="4.2" />
      </g>
      <circle cx="12" cy="12" r="1.6" fill="#fff" />
    </svg>
  );
}
