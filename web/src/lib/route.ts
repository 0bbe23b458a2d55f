// The app's routes live in the URL fragment, so Hosting serves one index.html for all of them and an
// invitation token (#/invitation/{token}) never reaches a server log.
//   #/                         your organisations
//   #/org/{org}                the dashboard          #/org/{org}/reports    reports of the org
//   #/org/{org}/views          views people build     #/org/{org}/views/{id} one view (mine, shared or ready-made)
//   #/org/{org}/admin/{screen} the admin console      #/invitation/{token}   accept an invitation

import { useEffect, useState } from 'react';

export type Route =
  | { kind: 'home' }
  | { kind: 'invitation'; token: string }
  | { kind: 'org'; orgId: string; section: string };

export function parseRoute(hash: string): Route {
  const invitation = /^#\/invitation\/([A-Za-z0-9_-]+)/.exec(hash);
  if (invitation) return { kind: 'invitation', token: invitation[1] };
  const org = /^#\/org\/([^/?]+)(?:\/([^?]*))?/.exec(hash);
  if (org) {
    let orgId = org[1];
    try { orgId = decodeURIComponent(org[1]); } catch { /* keep the raw id: the org lookup will refuse it */ }
    return { kind: 'org', orgId, section: (org[2] ?? '').replace(/\/+$/, '') || 'dashboard' };
  }
  return { kind: 'home' };
}

export function orgHref(orgId: string, section = 'dashboard'): string {
  return `#/org/${encodeURIComponent(orgId)}${section === 'dashboard' ? '' : `/${section}`}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
