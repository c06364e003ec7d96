// Who is signed in and what the server offers, shared by every page.

import { createContext, useContext } from 'react';
import type { Config, User } from './api';

export interface SessionValue {
  config: Config;
  user?: User;
  /** After sign-in or sign-up. */
  signedIn: (user: User) => void;
  signOut: () => Promise<void>;
}

export const SessionContext = createContext<SessionValue | undefined>(undefined);

export function useSession(): SessionValue {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession is used outside <SessionContext.Provider>');
  return session;
}

/** For pages behind sign-in: App renders them only when someone is signed in. */
export function useUser(): User {
  const { user } = useSession();
  if (!user) throw new Error('useUser is used on a page that does not require sign-in');
  return user;
}
