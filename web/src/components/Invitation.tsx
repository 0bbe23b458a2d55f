// The page an invitation e-mail links to (#/invitation/{token}): sign in or create an account with
// the invited address, then the backend checks the invitation (single use, not expired, for this
// address) and makes the user a member.

import { signOut, type User } from 'firebase/auth';
import { useEffect, useState } from 'react';

import { callApi, failure } from '../lib/api';
import type { Services } from '../lib/firebase';
import { SignIn } from './SignIn';

type State =
  | { step: 'joining' }
  | { step: 'joined'; orgId: string; role: string }
  | { step: 'refused'; code: string; message: string };

export function AcceptInvitation({ services, user, token }: { services: Services; user: User | null; token: string }) {
  const [state, setState] = useState<State>({ step: 'joining' });
  useEffect(() => {
    if (!user) return;
    let current = true;
    setState({ step: 'joining' });
    void callApi<{ org_id: string; role: string }>(user, '/api/access/accept', { token }).then((reply) => {
      if (!current) return;
      if (reply.ok && reply.body.org_id) setState({ step: 'joined', orgId: reply.body.org_id, role: reply.body.role ?? '' });
      else setState({ step: 'refused', code: reply.body.error ?? String(reply.status), message: failure(reply) });
    });
    return () => { current = false; };
  }, [user, token]);

  if (!user) {
    return (
      <SignIn services={services} allowSignUp
              intro="You were invited to an organisation on Finance Live. Sign in, or create your account, with the address the invitation was sent to." />
    );
  }
  return (
    <main className="invitation" data-testid="invitation">
      <h2>Invitation</h2>
      {state.step === 'joining' && <p className="state loading" role="status">Checking the invitation…</p>}
      {state.step === 'joined' && (
        <div role="status" data-testid="invitation-accepted">
          <p>You joined <strong>{state.orgId}</strong> as {state.role}.</p>
          <p><a href={`#/org/${encodeURIComponent(state.orgId)}`}>Open the dashboard</a></p>
        </div>
      )}
      {state.step === 'refused' && (
        <div role="alert" className="state error" data-testid="invitation-refused" data-code={state.code}>
          <p>{state.message}</p>
          <p>
            <a href="#/">Go to your organisations</a>{' '}
            {state.code === 'email_mismatch' && (
              <button type="button" className="secondary" onClick={() => void signOut(services.auth)}>Use another account</button>
            )}
          </p>
        </div>
      )}
    </main>
  );
}
