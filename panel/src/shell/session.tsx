import { createContext, useContext } from 'react';
import type { Session } from '../api/client';

export interface SessionValue {
  session: Session | null;
  /** The signed-in employee's extension (the phone click-to-call rings first), when the session names one. */
  extension: string | null;
  signOut: () => void;
}

export const SessionContext = createContext<SessionValue>({ session: null, extension: null, signOut: () => undefined });
export const useSession = () => useContext(SessionContext);
