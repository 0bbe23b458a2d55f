import { Timestamp } from 'firebase/firestore';
import { describe, expect, it } from 'vitest';

import { invitationState } from '../src/components/admin/Members';
import type { InvitationDoc } from '../src/lib/types';

const base: InvitationDoc = { email: 'a@example.com', role: 'viewer', invited_by: 'u', expires_at: Timestamp.fromMillis(2_000) };

describe('the state an admin sees of an invitation', () => {
  it('is the backend status, expired once past expires_at, and accepted for good', () => {
    expect(invitationState({ ...base }, 1_000)).toBe('sending');
    expect(invitationState({ ...base, status: 'sent' }, 1_000)).toBe('sent');
    expect(invitationState({ ...base, status: 'send_failed' }, 1_000)).toBe('send_failed');
    expect(invitationState({ ...base, status: 'sent' }, 2_000)).toBe('expired');
    expect(invitationState({ ...base, status: 'accepted' }, 9_000)).toBe('accepted');
  });
});
