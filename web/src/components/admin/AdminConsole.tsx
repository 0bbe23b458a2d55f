// The admin console: one screen per kind of thing an admin manages, each reading live (listeners) and
// writing what firestore.rules lets an admin write (or calling the backend where the rules cannot decide).

import type { ReactNode } from 'react';

import { orgHref } from '../../lib/route';
import { useSession } from '../../lib/session';
import { MembersScreen } from './Members';

interface Screen { key: string; label: string; render: () => ReactNode }

const SCREENS: Screen[] = [
  { key: 'members', label: 'Members & invitations', render: () => <MembersScreen /> },
];

export function AdminConsole({ screen }: { screen: string }) {
  const { orgId } = useSession();
  const current = SCREENS.find((s) => s.key === screen) ?? SCREENS[0];
  return (
    <div className="admin-console" data-screen={current.key}>
      <nav className="admin-nav" aria-label="Admin screens">
        {SCREENS.map((s) => (
          <a key={s.key} href={orgHref(orgId, `admin/${s.key}`)} aria-current={s.key === current.key ? 'page' : undefined}>{s.label}</a>
        ))}
      </nav>
      <div className="admin-screen">{current.render()}</div>
    </div>
  );
}
