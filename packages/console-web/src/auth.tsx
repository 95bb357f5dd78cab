import { createContext, useContext, type ReactNode } from 'react';
import type { Role, UserView } from './api/types';

interface Auth {
  user: UserView;
  logout: () => void;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ value, children }: { value: Auth; children: ReactNode }) {
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}

/** What the signed-in user may do (docs/console-api.md "Roles"); the server checks again. */
export function useCan(): { operate: boolean; admin: boolean } {
  const auth = useContext(AuthContext);
  const r = auth ? rank[auth.user.role] : 0;
  return { operate: r >= rank.operator, admin: r >= rank.admin };
}
