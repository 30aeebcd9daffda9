import { useEffect, useState } from 'react';
import { sessionExtension, sessionName } from '../api/client';
import { liveApi } from './http';

/** Who is signed in, as GET /api/v1/session says: the extension the live screens act as, and the role. */
export interface LiveSession {
  extension: string | null;
  name: string | null;
  role: string;
  /** May see and use listen / whisper / barge (the API still answers 403 to anyone else). */
  supervisor: boolean;
}

let cached: Promise<LiveSession> | null = null;

export function parseSession(body: any): LiveSession {
  const emp = body?.employee && typeof body.employee === 'object' ? body.employee : body?.user ?? {};
  const extension = sessionExtension(body);
  const role = String(body?.role ?? emp.role ?? body?.user?.role ?? 'operator');
  const supervisor = role === 'supervisor' || role === 'admin' || emp.supervisor === true || body?.supervisor === true;
  return { extension, name: sessionName(body) || null, role, supervisor };
}

export function loadSession(force = false): Promise<LiveSession> {
  if (!cached || force) {
    cached = liveApi('/session').then(parseSession);
    cached.catch(() => {
      cached = null;
    });
  }
  return cached;
}

export function useLiveSession(): LiveSession | null {
  const [s, setS] = useState<LiveSession | null>(null);
  useEffect(() => {
    let alive = true;
    const get = () =>
      loadSession().then(
        (v) => alive && setS(v),
        () => alive && setTimeout(get, 3000),
      );
    get();
    return () => {
      alive = false;
    };
  }, []);
  return s;
}
