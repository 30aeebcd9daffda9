/** The dialer, reachable from every screen (header button, `d`, call buttons of search and history). */
import { createContext, useContext } from 'react';

export interface DialerValue {
  /** Opens the dialer with this number (a pasted number in any format); `autoDial` places the call at once. */
  open: (number?: string, opts?: { autoDial?: boolean; origin?: { kind: string; ref?: string; label?: string } }) => void;
}

export const DialerContext = createContext<DialerValue>({ open: () => undefined });
export const useDialer = () => useContext(DialerContext);
