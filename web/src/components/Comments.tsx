// Comments on a number: a thread per target document (query comments_of_target). The backend
// keeps `comment_count` on the target, which the buttons show live.

import { addDoc, collection, limit, orderBy, serverTimestamp, where } from 'firebase/firestore';
import { createContext, useContext, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';

import { useQuery } from '../hooks/live';
import { orgPath, useSession } from '../lib/session';
import type { CommentDoc } from '../lib/types';
import { LiveView } from './States';

interface Thread { target: string; label: string }
const ThreadContext = createContext<(thread: Thread) => void>(() => undefined);

export function CommentButton({ target, count, label }: { target: string; count?: number; label: string }) {
  const open = useContext(ThreadContext);
  const n = count ?? 0;
  return (
    <button type="button" className="comment-button" onClick={() => open({ target, label })}
            aria-label={`${n} comments on ${label}`} data-comment-target={target}>
      <svg aria-hidden="true" width="14" height="14" viewBox="0 0 16 16" className="icon">
        <path d="M2 2h12v9H6l-4 3z" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" />
      </svg>{' '}
      <span data-testid="comment-count">{n}</span>
    </button>
  );
}

export function CommentsProvider({ children, members }: { children: ReactNode; members: Map<string, string> }) {
  const [thread, setThread] = useState<Thread | null>(null);
  return (
    <ThreadContext.Provider value={setThread}>
      {children}
      {thread && <CommentThread thread={thread} members={members} onClose={() => setThread(null)} />}
    </ThreadContext.Provider>
  );
}

function CommentThread({ thread, members, onClose }: { thread: Thread; members: Map<string, string>; onClose: () => void }) {
  const { services, orgId, user } = useSession();
  const live = useQuery<CommentDoc>(services.db, orgPath(orgId, 'comments'),
    [where('target_path', '==', thread.target), orderBy('created_at'), limit(100)], thread.target);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const node = dialog.current;
    if (node && !node.open) node.showModal();
  }, []);
  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!text.trim()) { setError('Write something first.'); return; }
    setError(null);
    try {
      await addDoc(collection(services.db, orgPath(orgId, 'comments')), {
        target_path: thread.target, uid: user.uid, text: text.trim(), created_at: serverTimestamp(),
      });
      setText('');
    } catch (err) {
      setError(`Not posted: ${(err as { code?: string }).code ?? String(err)}`);
    }
  }
  return (
    <dialog ref={dialog} className="comments" aria-labelledby="comments-title" onClose={onClose}>
      <header className="panel-header">
        <h2 id="comments-title">Comments on {thread.label}</h2>
        <button type="button" onClick={() => dialog.current?.close()}>Close</button>
      </header>
      <LiveView live={live} what="the comments" empty="No comments yet.">
        {(comments) => (
          <ol className="comment-list" data-testid="comment-list">
            {comments.map((c) => (
              <li key={c.id}>
                <strong>{members.get(c.uid) ?? c.uid}</strong>{' '}
                <time>{c.created_at?.toDate().toLocaleString() ?? 'now'}</time>
                <p>{c.text}</p>
              </li>
            ))}
          </ol>
        )}
      </LiveView>
      <form onSubmit={submit} className="comment-form">
        <label htmlFor="comment-text">Your comment</label>
        <textarea id="comment-text" value={text} maxLength={2000} onChange={(e) => setText(e.target.value)} rows={3} />
        {error && <p className="state error" role="alert">{error}</p>}
        <button type="submit">Post comment</button>
      </form>
    </dialog>
  );
}
