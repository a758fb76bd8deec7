// The header's account corner: who is signed in and their role, with Sign out;
// or, for an anonymous visitor allowed to read, a Sign in link.
import { useState } from 'react';
import { useAuth } from './AuthProvider';

export function AccountBox() {
  const { principal, session, client } = useAuth();
  const [leaving, setLeaving] = useState(false);
  if (!principal) return null;
  if (!session) {
    return (
      <div className="account" data-testid="account">
        <span className="account-role" title="Anonymous access allowed by the server">
          {principal.role ? `anonymous · ${principal.role}` : 'anonymous'}
        </span>
        <button type="button" className="account-action" onClick={() => client.openLogin(true)} data-testid="sign-in">
          Sign in
        </button>
      </div>
    );
  }
  return (
    <div className="account" data-testid="account">
      <span className="account-user" data-testid="account-user" title={`Signed in as ${session.user.username}`}>
        {session.user.username}
      </span>
      <span className="account-role" data-testid="account-role">
        {principal.role}
      </span>
      <button
        type="button"
        className="account-action"
        disabled={leaving}
        onClick={() => {
          setLeaving(true);
          client.logout().finally(() => setLeaving(false));
        }}
        data-testid="sign-out"
      >
        {leaving ? 'Signing out…' : 'Sign out'}
      </button>
    </div>
  );
}
