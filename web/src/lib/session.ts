import { createContext, useContext } from 'react';
import type { User } from 'firebase/auth';

import type { Services } from './firebase';
import type { Org, Role } from './types';

export interface Session {
  services: Services;
  user: User;
  orgId: string;
  org: Org;
  role: Role;
  displayName: string;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a dashboard');
  return session;
}

export const canEdit = (role: Role): boolean => role === 'editor' || role === 'admin';

export const orgPath = (orgId: string, ...rest: string[]): string => ['organizations', orgId, ...rest].join('/');
