// The backend's HTTP functions, reached on the dashboard's own origin through Hosting rewrites
// (/api/access/** -> manage_access, ...): no function URL in the build, no CORS. Every call carries
// the signed-in user's ID token; errors come back as JSON {error, message}.

import type { User } from 'firebase/auth';

export interface ApiReply<T> {
  ok: boolean;
  status: number;
  /** The JSON answer; on failure `error` (machine-readable) and `message` (what to do). */
  body: Partial<T> & { error?: string; message?: string };
}

export async function callApi<T>(user: User, path: string, body: unknown, method = 'POST'): Promise<ApiReply<T>> {
  const token = await user.getIdToken();
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: method === 'GET' ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    const body = { error: 'network', message: `the service could not be reached (${String(err)})` } as ApiReply<T>['body'];
    return { ok: false, status: 0, body };
  }
  const parsed = await response.json().catch(() => ({ error: 'bad_reply', message: `the service answered ${response.status} without JSON` }));
  return { ok: response.ok, status: response.status, body: parsed };
}

/** The message to show for a failed call. */
export function failure(reply: ApiReply<unknown>): string {
  return reply.body.message ?? reply.body.error ?? `the service answered ${reply.status}`;
}
