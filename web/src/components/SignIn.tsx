// E-mail and password sign-in; on an invitation page also account creation (the invitee may be new).

import { createUserWithEmailAndPassword, signInWithEmailAndPassword } from 'firebase/auth';
import { useState, type FormEvent } from 'react';

import type { Services } from '../lib/firebase';

const MESSAGES: Record<string, string> = {
  'auth/invalid-credential': 'Wrong e-mail or password.',
  'auth/wrong-password': 'Wrong e-mail or password.',
  'auth/user-not-found': 'Wrong e-mail or password.',
  'auth/email-already-in-use': 'An account with this e-mail exists already: sign in with its password instead.',
  'auth/weak-password': 'Choose a password of at least 6 characters.',
  'auth/invalid-email': 'This is not an e-mail address.',
};

export function SignIn({ services, allowSignUp = false, intro }: { services: Services; allowSignUp?: boolean; intro?: string }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (creating) await createUserWithEmailAndPassword(services.auth, email.trim(), password);
      else await signInWithEmailAndPassword(services.auth, email.trim(), password);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      setError(MESSAGES[code] ?? `Could not ${creating ? 'create the account' : 'sign in'} (${code || String(err)}).`);
    } finally {
      setBusy(false);
    }
  }
  const title = creating ? 'Create your account' : 'Sign in';
  return (
    <main className="sign-in">
      <h1>Finance Live</h1>
      {intro && <p>{intro}</p>}
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h2 id="sign-in-title">{title}</h2>
        <label>E-mail <input type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required /></label>
        <label>Password <input type="password" autoComplete={creating ? 'new-password' : 'current-password'} minLength={creating ? 6 : undefined}
                               value={password} onChange={(e) => setPassword(e.target.value)} required /></label>
        {error && <p className="state error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>{busy ? 'Please wait…' : creating ? 'Create account' : 'Sign in'}</button>
        {allowSignUp && (
          <button type="button" className="link" onClick={() => { setCreating(!creating); setError(null); }}>
            {creating ? 'I already have an account' : 'I am new here: create an account'}
          </button>
        )}
      </form>
    </main>
  );
}
