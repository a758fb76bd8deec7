// The auth client for React: the state (who we are, the session) and hooks for
// what the current role may do.
import { createContext, useContext, useEffect, useSyncExternalStore, type ReactNode } from 'react';
import { can, requirement, type Capability } from './capabilities';
import { STORAGE_KEY } from './tokens';
import type { AuthClient, AuthState } from './session';

const AuthContext = createContext<AuthClient | null>(null);

export function AuthProvider({ client, children }: { client: AuthClient; children: ReactNode }) {
  useEffect(() => {
    void client.start();
    // Timers sleep with a hidden tab; another tab may sign in, renew or sign out.
    const onVisible = () => document.visibilityState === 'visible' && client.wake();
    const onStorage = (event: StorageEvent) => {
      if (event.key === STORAGE_KEY || event.key === null) client.adoptStored();
    };
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('storage', onStorage);
    return () => {
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('storage', onStorage);
    };
  }, [client]);
  return <AuthContext.Provider value={client}>{children}</AuthContext.Provider>;
}

export function useAuthClient(): AuthClient {
  const client = useContext(AuthContext);
  if (!client) throw new Error('useAuth outside <AuthProvider>');
  return client;
}

export function useAuth(): AuthState & { client: AuthClient } {
  const client = useAuthClient();
  const state = useSyncExternalStore(client.subscribe, client.getState);
  return { ...state, client };
}

/** The role the server gives us now (null: may only sign in; also outside an AuthProvider). */
export function useRole(): string | null {
  const client = useContext(AuthContext);
  const state = useSyncExternalStore(client?.subscribe ?? noSubscribe, client?.getState ?? noState);
  return state?.principal?.role ?? null;
}

/** Whether the current role may do `capability`, and if not, the tooltip saying who may. */
export function useCapability(capability: Capability): { allowed: boolean; reason: string | null } {
  const role = useRole();
  const allowed = can(role, capability);
  return { allowed, reason: allowed ? null : requirement(capability) };
}

const noSubscribe = () => () => undefined;
const noState = (): AuthState | null => null;
