import { describe, expect, it } from 'vitest';

import { orgHref, parseRoute } from '../src/lib/route';

describe('routes in the URL fragment', () => {
  it('reads the org, its section and an invitation token', () => {
    expect(parseRoute('')).toEqual({ kind: 'home' });
    expect(parseRoute('#/')).toEqual({ kind: 'home' });
    expect(parseRoute('#/org/acme')).toEqual({ kind: 'org', orgId: 'acme', section: 'dashboard' });
    expect(parseRoute('#/org/acme/reports')).toEqual({ kind: 'org', orgId: 'acme', section: 'reports' });
    expect(parseRoute('#/org/acme/admin/members/')).toEqual({ kind: 'org', orgId: 'acme', section: 'admin/members' });
    expect(parseRoute('#/org/a%20b')).toEqual({ kind: 'org', orgId: 'a b', section: 'dashboard' });
    expect(parseRoute('#/org/%E0%A4%A')).toEqual({ kind: 'org', orgId: '%E0%A4%A', section: 'dashboard' });
    expect(parseRoute('#/invitation/abc_DEF-123')).toEqual({ kind: 'invitation', token: 'abc_DEF-123' });
  });

  it('builds the links it reads', () => {
    for (const [org, section] of [['acme', 'dashboard'], ['a b', 'reports'], ['x', 'admin/accounts']]) {
      expect(parseRoute(orgHref(org, section))).toEqual({ kind: 'org', orgId: org, section });
    }
  });
});
