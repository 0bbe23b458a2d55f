// The org's sections: the live dashboard, the views people build, reports, and for admins the console.

import { orgHref } from '../lib/route';
import type { Role } from '../lib/types';

export function OrgNav({ orgId, section, role }: { orgId: string; section: string; role: Role }) {
  const links: [string, string][] = [['dashboard', 'Dashboard'], ['views', 'Views'], ['reports', 'Reports']];
  if (role === 'admin') links.push(['admin', 'Admin']);
  const current = section.split('/')[0];
  return (
    <nav className="org-nav" aria-label="Sections">
      {links.map(([key, label]) => (
        <a key={key} href={orgHref(orgId, key)} aria-current={current === key ? 'page' : undefined}>{label}</a>
      ))}
    </nav>
  );
}
