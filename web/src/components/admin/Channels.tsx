// Notification channels (webhook, e-mail). What to send where is written under the rules; the secret
// (a webhook's URL, an SMTP password) goes to the backend (/api/alerts/secret), which keeps it where no
// client can read it and shows only a masked hint. "Send test" delivers a test message now.

import { deleteDoc, doc, serverTimestamp, setDoc, type Timestamp } from 'firebase/firestore';
import { useState, type FormEvent } from 'react';

import { dataOf, useQuery } from '../../hooks/live';
import { callApi, failure } from '../../lib/api';
import { idProblem } from '../../lib/reference';
import { orgPath, useSession } from '../../lib/session';
import { Loading } from '../States';

export interface ChannelDoc {
  type: 'webhook' | 'email'; name?: string; enabled?: boolean; recipients?: string[]; smtp_host?: string; smtp_port?: number;
  smtp_user?: string; security?: string; secret_set?: boolean; secret_hint?: string; secret_updated_at?: Timestamp;
  last_test?: { delivered: boolean; attempts: number; error: string | null; at?: Timestamp };
}

const EMAIL = /^[^@\s,]{1,64}@[^@\s,]{1,190}$/;

// `saving`: the channel's own write is not acknowledged yet. Its row shows at once (the SDK's local
// write), but the backend reads the stored channel: setting its secret or testing it waits for the save.
function ChannelRow({ channel, saving }: { channel: ChannelDoc & { id: string }; saving: boolean }) {
  const { services, orgId, user } = useSession();
  const [secret, setSecret] = useState('');
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  async function setChannelSecret(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    const reply = await callApi<{ secret_hint: string }>(user, '/api/alerts/secret', { org_id: orgId, channel_id: channel.id, secret });
    setBusy(false);
    if (reply.ok) { setSecret(''); setMessage({ error: false, text: `Secret set (${reply.body.secret_hint}).` }); }
    else setMessage({ error: true, text: failure(reply) });
  }
  async function sendTest() {
    setBusy(true);
    setMessage(null);
    const reply = await callApi<{ delivered: boolean; attempts: number; error: string | null }>(user, '/api/alerts/test', { org_id: orgId, channel_id: channel.id });
    setBusy(false);
    if (!reply.ok) setMessage({ error: true, text: failure(reply) });
    else if (reply.body.delivered) setMessage({ error: false, text: `Test delivered (${reply.body.attempts} attempt${reply.body.attempts === 1 ? '' : 's'}).` });
    else setMessage({ error: true, text: `Test not delivered: ${reply.body.error ?? 'unknown error'}` });
  }
  const secretLabel = channel.type === 'webhook' ? 'Webhook URL' : 'SMTP password';
  return (
    <tr data-channel={channel.id} data-type={channel.type}>
      <td><strong>{channel.name ?? channel.id}</strong><br /><code>{channel.id}</code> <span className="sub">{channel.type}{channel.enabled === false ? ', disabled' : ''}</span>
        {channel.type === 'email' && <><br /><span className="sub">to {(channel.recipients ?? []).join(', ')}</span></>}</td>
      <td data-testid={`secret-${channel.id}`}>
        {channel.secret_set ? <span>{secretLabel}: <code>{channel.secret_hint}</code></span> : <span className="sub">no {secretLabel.toLowerCase()} set</span>}
        <form onSubmit={setChannelSecret} className="inline-form" aria-label={`Set the ${secretLabel.toLowerCase()} of ${channel.id}`}>
          <label className="visually-hidden" htmlFor={`secret-input-${channel.id}`}>{secretLabel} of {channel.id}</label>
          <input id={`secret-input-${channel.id}`} type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)}
                 placeholder={channel.type === 'webhook' ? 'https://hooks.slack.com/services/…' : 'password'} required />
          <button type="submit" className="secondary" disabled={busy || saving}>{channel.secret_set ? 'Replace' : 'Set'}</button>
        </form>
      </td>
      <td>
        <button type="button" onClick={() => void sendTest()} disabled={busy || saving}>Send test</button>{' '}
        {saving && <span className="sub" role="status">saving…</span>}{' '}
        <button type="button" className="link" aria-label={`Delete channel ${channel.id}`}
                onClick={() => { if (window.confirm(`Delete channel ${channel.id}? Rules that name it notify nobody there.`)) void deleteDoc(doc(services.db, orgPath(orgId, 'notification_channels', channel.id))); }}>Delete</button>
        {channel.last_test && <p className="sub">last test {channel.last_test.delivered ? 'delivered' : `failed: ${channel.last_test.error ?? ''}`}</p>}
        {message && <p className={`state ${message.error ? 'error' : 'ok'}`} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
      </td>
    </tr>
  );
}

export function ChannelsScreen() {
  const { services, orgId, user } = useSession();
  const live = useQuery<ChannelDoc>(services.db, orgPath(orgId, 'notification_channels'), [], 'all');
  const channels = (dataOf(live) ?? []).slice().sort((a, b) => a.id.localeCompare(b.id));
  const [id, setId] = useState('');
  const [type, setType] = useState<'webhook' | 'email'>('webhook');
  const [name, setName] = useState('');
  const [recipients, setRecipients] = useState('');
  const [smtpHost, setSmtpHost] = useState('');
  const [smtpPort, setSmtpPort] = useState('');
  const [smtpUser, setSmtpUser] = useState('');
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const [saving, setSaving] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const problem = idProblem(id.trim(), 'channel id');
    if (problem) { setMessage({ error: true, text: problem }); return; }
    const body: Record<string, unknown> = { type, name: name.trim() || id.trim(), enabled: true, updated_by: user.uid, updated_at: serverTimestamp() };
    if (type === 'email') {
      const list = recipients.split(/[\s,;]+/).map((r) => r.trim()).filter(Boolean);
      const bad = list.find((r) => !EMAIL.test(r));
      if (!list.length || bad || list.length > 50) { setMessage({ error: true, text: bad ? `"${bad}" is not an e-mail address` : 'give 1 to 50 recipients' }); return; }
      body.recipients = list;
      if (smtpHost.trim()) body.smtp_host = smtpHost.trim();
      if (smtpPort.trim()) body.smtp_port = Number(smtpPort);
      if (smtpUser.trim()) body.smtp_user = smtpUser.trim();
    }
    setSaving(id.trim());
    try {
      // merge: the backend's answers (secret_set, last_test) stay as they are.
      await setDoc(doc(services.db, orgPath(orgId, 'notification_channels', id.trim())), body, { merge: true });
      setMessage({ error: false, text: `Channel ${id.trim()} saved${type === 'webhook' ? ': now set its URL' : ''}.` });
      setId(''); setName(''); setRecipients('');
    } catch (err) {
      setMessage({ error: true, text: `Not saved: ${(err as { code?: string }).code ?? String(err)}` });
    } finally {
      setSaving(null);
    }
  }

  return (
    <>
      <section className="panel" aria-labelledby="channels-title">
        <header className="panel-header"><h2 id="channels-title">Notification channels</h2>
          <span className="sub">where alerts (and scheduled packs) are sent; secrets are write-only</span></header>
        {live.status === 'loading' ? <Loading what="the channels" /> : channels.length === 0 ? <p className="state empty">No channels: alerts show in the dashboard only.</p> : (
          <div className="table-scroll">
            <table data-testid="channels">
              <thead><tr><th scope="col">Channel</th><th scope="col">Secret</th><th scope="col">Actions</th></tr></thead>
              <tbody>{channels.map((c) => <ChannelRow key={c.id} channel={c} saving={saving === c.id} />)}</tbody>
            </table>
          </div>
        )}
      </section>
      <section className="panel" aria-labelledby="channel-form-title">
        <header className="panel-header"><h2 id="channel-form-title">Add a channel</h2></header>
        <form className="entry-form" onSubmit={submit} data-testid="channel-form" aria-label="Add a channel">
          <label>Channel id <input value={id} onChange={(e) => setId(e.target.value)} required placeholder="ops-slack" /></label>
          <label>Type
            <select value={type} onChange={(e) => setType(e.target.value as 'webhook' | 'email')}>
              <option value="webhook">webhook (Slack and compatible)</option><option value="email">e-mail</option>
            </select>
          </label>
          <label>Name <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} /></label>
          {type === 'email' && <>
            <label className="wide">Recipients <input value={recipients} onChange={(e) => setRecipients(e.target.value)} placeholder="cfo@example.com, controller@example.com" /></label>
            <label>SMTP server (optional) <input value={smtpHost} onChange={(e) => setSmtpHost(e.target.value)} /></label>
            <label>SMTP port <input value={smtpPort} onChange={(e) => setSmtpPort(e.target.value)} inputMode="numeric" /></label>
            <label>SMTP login <input value={smtpUser} onChange={(e) => setSmtpUser(e.target.value)} /></label>
          </>}
          <button type="submit">Save channel</button>
          {message && <p className={`state wide ${message.error ? 'error' : 'ok'}`} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
        </form>
      </section>
    </>
  );
}
