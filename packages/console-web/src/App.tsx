import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, onUnauthenticated } from './api/client';
import type { UserView } from './api/types';
import { AuthProvider } from './auth';
import { Layout } from './components/Layout';
import { NotifyProvider } from './components/notify';
import { ErrorBanner } from './components/ui';
import { I18nProvider, useT } from './i18n';
import { matchPath, useLocation } from './lib/router';
import { AuditPage } from './pages/Audit';
import { ContactsPage } from './pages/Contacts';
import { DashboardPage } from './pages/Dashboard';
import { IncidentsPage } from './pages/Incidents';
import { JobDetailPage } from './pages/JobDetail';
import { JobEditPage } from './pages/JobEdit';
import { JobsPage } from './pages/Jobs';
import { LoginPage } from './pages/Login';
import { LogsPage } from './pages/Logs';
import { MachinesPage } from './pages/Machines';
import { NodesPage } from './pages/Nodes';
import { OutboxPage } from './pages/Outbox';
import { RunPage } from './pages/Run';
import { RunsPage } from './pages/Runs';
import { SettingsPage } from './pages/Settings';
import { TokensPage } from './pages/Tokens';
import { UsersPage } from './pages/Users';

export function App() {
  return (
    <I18nProvider>
      <NotifyProvider>
        <Session />
      </NotifyProvider>
    </I18nProvider>
  );
}

type SessionState =
  { state: 'checking' } | { state: 'out'; expired?: boolean } | { state: 'in'; user: UserView } | { state: 'error'; error: unknown };

function Session() {
  const t = useT();
  const [session, setSession] = useState<SessionState>({ state: 'checking' });

  const check = useCallback(
    () =>
      api.me().then(
        ({ user }) => setSession({ state: 'in', user }),
        (err: unknown) => setSession(err instanceof ApiError && err.status === 401 ? { state: 'out' } : { state: 'error', error: err }),
      ),
    [],
  );

  useEffect(() => {
    void check();
    onUnauthenticated(() => setSession({ state: 'out', expired: true }));
    return () => onUnauthenticated(null);
  }, [check]);

  const logout = useCallback(() => {
    api
      .logout()
      .catch(() => {})
      .finally(() => setSession({ state: 'out' }));
  }, []);

  switch (session.state) {
    case 'checking':
      return <div className="splash">{t('common.loading')}</div>;
    case 'error':
      return (
        <div className="splash">
          <ErrorBanner error={session.error} />
          <button type="button" onClick={() => void check()}>
            {t('common.retry')}
          </button>
        </div>
      );
    case 'out':
      return <LoginPage expired={session.expired} onLogin={(user) => setSession({ state: 'in', user })} />;
    case 'in':
      return (
        <AuthProvider value={{ user: session.user, logout }}>
          <Layout>
            <Routes />
          </Layout>
        </AuthProvider>
      );
  }
}

function Routes() {
  const { path, search } = useLocation();
  const t = useT();
  let m: Record<string, string> | null;
  if (path === '/' || path === '') return <DashboardPage />;
  if (matchPath('/nodes', path)) return <NodesPage />;
  if (matchPath('/machines', path)) return <MachinesPage />;
  if (matchPath('/jobs', path)) return <JobsPage />;
  if (matchPath('/jobs/new', path)) return <JobEditPage key={search.get('copy') ?? 'new'} copyOf={search.get('copy') ?? undefined} />;
  if ((m = matchPath('/jobs/:id/edit', path))) return <JobEditPage key={m.id} id={m.id} />;
  if ((m = matchPath('/jobs/:id', path)) && m.id) return <JobDetailPage key={m.id} id={m.id} />;
  if (matchPath('/runs', path)) return <RunsPage />;
  if ((m = matchPath('/runs/:id', path)) && m.id) return <RunPage key={m.id} id={m.id} />;
  if (matchPath('/contacts', path)) return <ContactsPage />;
  if (matchPath('/logs', path)) return <LogsPage />;
  if (matchPath('/incidents', path)) return <IncidentsPage />;
  if (matchPath('/outbox', path)) return <OutboxPage />;
  if (matchPath('/users', path)) return <UsersPage />;
  if (matchPath('/audit', path)) return <AuditPage />;
  if (matchPath('/settings', path)) return <SettingsPage />;
  if (matchPath('/tokens', path)) return <TokensPage />;
  return (
    <div className="empty" data-testid="not-found">
      {t('common.notFound')}
    </div>
  );
}
