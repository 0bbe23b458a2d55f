import { onAuthStateChanged, signOut, type User } from 'firebase/auth';
import { where } from 'firebase/firestore';
import { useEffect, useState } from 'react';

import { AdminConsole } from './components/admin/AdminConsole';
import { Dashboard } from './components/Dashboard';
import { AcceptInvitation } from './components/Invitation';
import { OrgNav } from './components/OrgNav';
import { Reports } from './components/Reports';
import { SignIn } from './components/SignIn';
import { ViewsPage } from './components/views/Views';
import { dataOf, useDocument, useQuery, type Live } from './hooks/live';
import type { Services } from './lib/firebase';
import { orgHref, useRoute } from './lib/route';
import { orgPath, SessionContext } from './lib/session';
import type { KpisDoc, Member, Org } from './lib/types';

function OrgPicker({ memberships, choose }: { memberships: { org: string; role: string }[]; choose: (org: string) => void }) {
  return (
    <main className="org-picker">
      <h2>Your organisations</h2>
      {memberships.length === 0 ? <p className="state empty">You are not a member of any organisation yet: ask an admin of yours to invite you, then open the link of the invitation e-mail.</p> : (
        <ul>
          {memberships.map((m) => (
            <li key={m.org}><button type="button" onClick={() => choose(m.org)}>{m.org}</button> <span className="sub">{m.role}</span></li>
          ))}
        </ul>
      )}
    </main>
  );
}

function OrgView({ services, user, orgId, section, memberLive }: {
  services: Services; user: User; orgId: string; section: string; memberLive: Live<Member & { id: string }>;
}) {
  const orgLive = useDocument<Org>(services.db, orgPath(orgId));
  // The headline numbers are what a user waits for: listen at once, beside the org and member
  // documents, rather than after them (about 300 ms sooner on a first load).
  const kpisLive = useDocument<KpisDoc>(services.db, orgPath(orgId, 'kpis', 'current'));
  const member = dataOf(memberLive);
  if (orgLive.status === 'denied' || memberLive.status === 'denied' || memberLive.status === 'missing') {
    return (
      <main className="state denied" role="alert" data-testid="access-refused">
        <h2>No access to {orgId}</h2>
        <p>You are not a member of this organisation, or your access was removed. <a href="#/">Choose another organisation</a>.</p>
      </main>
    );
  }
  if (orgLive.status === 'error') return <main className="state error" role="alert">Could not load {orgId}: {orgLive.message}</main>;
  if (orgLive.status !== 'ready' || !member) return <main className="state loading" role="status">Loading {orgId}…</main>;
  if (!performance.getEntriesByName('org-ready').length) performance.mark('org-ready');
  return (
    <SessionContext.Provider value={{
      services, user, orgId, org: orgLive.data, role: member.role,
      displayName: member.display_name ?? user.email ?? user.uid,
    }}>
      <main data-role={member.role} data-org={orgId} data-section={section}>
        <OrgNav orgId={orgId} section={section} role={member.role} />
        {section === 'dashboard' && <Dashboard kpisLive={kpisLive} />}
        {section === 'reports' && <Reports />}
        {section.split('/')[0] === 'views' && <ViewsPage viewId={section.split('/')[1] || null} />}
        {section.startsWith('admin') && (member.role === 'admin'
          ? <AdminConsole screen={section.slice('admin/'.length) || 'members'} />
          : <p className="state denied" role="alert" data-testid="admin-refused">The admin console is for admins of {orgId}.</p>)}
      </main>
    </SessionContext.Provider>
  );
}

export function App({ services }: { services: Services }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  useEffect(() => onAuthStateChanged(services.auth, (next) => {
    if (!performance.getEntriesByName('auth-restored').length) performance.mark('auth-restored');
    setUser(next);
  }), [services.auth]);
  const route = useRoute();
  const orgId = route.kind === 'org' ? route.orgId : null;
  const setOrg = (next: string | null) => { window.location.hash = next ? orgHref(next) : '#/'; };
  // Query my_memberships: the rules allow it only with the uid filter.
  const memberships = useQuery<Member>(services.db, user ? 'members' : null, user ? [where('uid', '==', user.uid)] : [], user?.uid ?? '', true);
  const memberLive = useDocument<Member>(services.db, user && orgId ? orgPath(orgId, 'members', user.uid) : null);
  if (user === undefined) return <main className="state loading" role="status">Starting…</main>;
  if (route.kind === 'invitation') return <AcceptInvitation services={services} user={user} token={route.token} />;
  if (user === null) return <SignIn services={services} />;
  const mine = (dataOf(memberships) ?? []).map((m) => ({ org: m.path.split('/')[1], role: m.role }));
  const orgName = orgId ?? 'Finance Live';
  return (
    <>
      <header className="app-header">
        <h1><a href="#/">Finance Live</a> <span className="sub">{orgId ? `· ${orgName}` : ''}</span></h1>
        {mine.length > 1 && (
          <label className="org-switch">Organisation
            <select value={orgId ?? ''} onChange={(e) => setOrg(e.target.value || null)}>
              <option value="">Choose…</option>
              {mine.map((m) => <option key={m.org} value={m.org}>{m.org} ({m.role})</option>)}
            </select>
          </label>
        )}
        <span className="user">{user.email ?? user.uid}</span>
        <button type="button" onClick={() => { setOrg(null); void signOut(services.auth); }}>Sign out</button>
      </header>
      {route.kind === 'org' ? <OrgView services={services} user={user} orgId={route.orgId} section={route.section} memberLive={memberLive} />
        : <OrgPicker memberships={mine} choose={(org) => setOrg(org)} />}
    </>
  );
}
