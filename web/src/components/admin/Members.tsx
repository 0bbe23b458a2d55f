// Members and invitations. Admins invite by e-mail with a role (an invitation document, checked by the
// rules; the backend e-mails a single-use link and answers on the document), and change roles or remove
// members through the backend (/api/access), which never lets the org lose its last admin.

import { addDoc, collection, deleteDoc, doc, serverTimestamp, Timestamp, updateDoc } from 'firebase/firestore';
import { useState, type FormEvent } from 'react';

import { dataOf, useQuery } from '../../hooks/live';
import { callApi, failure } from '../../lib/api';
import { orgPath, useSession } from '../../lib/session';
import type { InvitationDoc, Member, Role } from '../../lib/types';
import { LiveView, Loading } from '../States';

const ROLES: Role[] = ['viewer', 'editor', 'admin'];
const LIFETIMES = [1, 7, 14, 28];
const EMAIL = /^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$/;

function when(t?: Timestamp | null): string {
  return t ? t.toDate().toISOString().slice(0, 16).replace('T', ' ') : '';
}

/** pending, sending, sent, send_failed, accepted, or expired (read from expires_at: nothing writes it). */
export function invitationState(inv: InvitationDoc, now = Date.now()): string {
  if (inv.status === 'accepted') return 'accepted';
  if (inv.expires_at && inv.expires_at.toMillis() <= now) return 'expired';
  return inv.status ?? 'sending';
}

function InviteForm() {
  const { services, orgId, user } = useSession();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [days, setDays] = useState(7);
  const [name, setName] = useState('');
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const address = email.trim().toLowerCase();
    if (!EMAIL.test(address) || address.length > 254) {
      setMessage({ error: true, text: 'Enter an e-mail address such as name@example.com.' });
      return;
    }
    setBusy(true);
    setMessage(null);
    try {
      await addDoc(collection(services.db, orgPath(orgId, 'invitations')), {
        email: address, role, invited_by: user.uid, created_at: serverTimestamp(),
        expires_at: Timestamp.fromMillis(Date.now() + days * 86_400_000),
        ...(name.trim() ? { display_name: name.trim().slice(0, 100) } : {}),
      });
      setMessage({ error: false, text: `Invitation to ${address} as ${role} written: the e-mail goes out in a moment (status below).` });
      setEmail('');
      setName('');
    } catch (err) {
      const code = (err as { code?: string }).code;
      setMessage({ error: true, text: code === 'permission-denied' ? 'Refused: only admins invite, with a valid address and role.' : `Not saved: ${code ?? String(err)}` });
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} className="entry-form" data-testid="invite-form" aria-label="Invite someone">
      <label>E-mail <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required maxLength={254} /></label>
      <label>Role
        <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
      </label>
      <label>Valid for
        <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
          {LIFETIMES.map((d) => <option key={d} value={d}>{d} day{d > 1 ? 's' : ''}</option>)}
        </select>
      </label>
      <label>Name (optional) <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} /></label>
      <button type="submit" disabled={busy}>Invite</button>
      {message && <p className={`state wide ${message.error ? 'error' : 'ok'}`} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
    </form>
  );
}

function MemberRow({ member, self }: { member: Member & { id: string }; self: boolean }) {
  const { orgId, user } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function act(action: 'role' | 'remove', role?: Role) {
    if (action === 'remove' && !window.confirm(`Remove ${member.display_name ?? member.email ?? member.id} from ${orgId}?`)) return;
    setBusy(true);
    setError(null);
    const reply = await callApi(user, `/api/access/${action}`, { org_id: orgId, uid: member.id, ...(role ? { role } : {}) });
    setBusy(false);
    if (!reply.ok) setError(failure(reply));
  }
  const label = member.display_name ?? member.email ?? member.id;
  return (
    <tr data-member={member.id} data-role={member.role}>
      <td>{label}{self && <span className="sub"> (you)</span>}{member.email && member.display_name && <><br /><span className="sub">{member.email}</span></>}</td>
      <td>
        <select aria-label={`Role of ${label}`} value={member.role} disabled={busy} onChange={(e) => void act('role', e.target.value as Role)}>
          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
      </td>
      <td>
        <button type="button" className="secondary" disabled={busy} onClick={() => void act('remove')} aria-label={`Remove ${label}`}>Remove</button>
        {error && <p className="state error" role="alert">{error}</p>}
      </td>
    </tr>
  );
}

function InvitationRow({ invitation }: { invitation: InvitationDoc & { id: string } }) {
  const { services, orgId } = useSession();
  const [error, setError] = useState<string | null>(null);
  const state = invitationState(invitation);
  const ref = doc(services.db, orgPath(orgId, 'invitations', invitation.id));
  async function run(what: () => Promise<void>) {
    setError(null);
    try { await what(); } catch (err) { setError(`Not done: ${(err as { code?: string }).code ?? String(err)}`); }
  }
  return (
    <tr data-invitation={invitation.id} data-state={state}>
      <td>{invitation.email}{invitation.display_name && <><br /><span className="sub">{invitation.display_name}</span></>}</td>
      <td>{invitation.role}</td>
      <td>
        <span className={state === 'send_failed' || state === 'expired' ? 'unfavourable' : state === 'accepted' ? 'favourable' : 'neutral'}>
          {state.replace('_', ' ')}
        </span>
        {state === 'send_failed' && invitation.delivery?.last_error && <p className="sub">{invitation.delivery.last_error}</p>}
        <br /><span className="sub">{state === 'accepted' ? `accepted ${when(invitation.accepted_at)}` : `expires ${when(invitation.expires_at)} UTC`}</span>
      </td>
      <td>
        {state !== 'accepted' && state !== 'expired' && (
          <button type="button" className="secondary" onClick={() => void run(() => updateDoc(ref, { resend_requested_at: serverTimestamp() }))}>Send again</button>
        )}{' '}
        {state !== 'accepted' && <button type="button" className="secondary" onClick={() => void run(() => deleteDoc(ref))}>Withdraw</button>}
        {error && <p className="state error" role="alert">{error}</p>}
      </td>
    </tr>
  );
}

export function MembersScreen() {
  const { services, orgId, user } = useSession();
  const members = useQuery<Member>(services.db, orgPath(orgId, 'members'), [], 'all');
  const invitations = useQuery<InvitationDoc>(services.db, orgPath(orgId, 'invitations'), [], 'all');
  const open = (dataOf(invitations) ?? []).slice().sort((a, b) => (b.created_at?.toMillis() ?? 0) - (a.created_at?.toMillis() ?? 0));
  return (
    <>
      <section className="panel" aria-labelledby="members-title">
        <header className="panel-header"><h2 id="members-title">Members</h2></header>
        <LiveView live={members} what="the members" empty="No members.">
          {(list) => (
            <div className="table-scroll">
              <table data-testid="members">
                <thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Actions</th></tr></thead>
                <tbody>
                  {list.slice().sort((a, b) => (a.display_name ?? a.email ?? a.id).localeCompare(b.display_name ?? b.email ?? b.id))
                    .map((m) => <MemberRow key={m.id} member={m} self={m.id === user.uid} />)}
                </tbody>
              </table>
            </div>
          )}
        </LiveView>
        <p className="sub">An organisation always keeps an admin: the last one can be neither demoted nor removed.</p>
      </section>
      <section className="panel" aria-labelledby="invitations-title">
        <header className="panel-header"><h2 id="invitations-title">Invite someone</h2></header>
        <InviteForm />
        <h3>Invitations</h3>
        {invitations.status === 'loading' ? <Loading what="the invitations" /> : open.length === 0 ? <p className="state empty">No invitations yet.</p> : (
          <div className="table-scroll">
            <table data-testid="invitations">
              <thead><tr><th scope="col">To</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Actions</th></tr></thead>
              <tbody>{open.map((inv) => <InvitationRow key={inv.id} invitation={inv} />)}</tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
