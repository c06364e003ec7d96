import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, setUnauthorizedHandler, type Config, type User } from './api';
import { ErrorText } from './components/ErrorText';
import { Nav } from './components/Nav';
import { Admin } from './pages/Admin';
import { Apps } from './pages/Apps';
import { GenerationPage } from './pages/GenerationPage';
import { Generations } from './pages/Generations';
import { NewApp } from './pages/NewApp';
import { NotFound } from './pages/NotFound';
import { SignIn } from './pages/SignIn';
import { SignUp } from './pages/SignUp';
import { Tokens } from './pages/Tokens';
import { matchPath, navigate, useLocation } from './router';
import { SessionContext, type SessionValue } from './session';

const PUBLIC_PATHS = ['/signin', '/signup'];

/** Where a signed-in user lands after signing in: back where they were sent away from. */
function afterSignIn(search: URLSearchParams): string {
  const next = search.get('next');
  // Only paths on this site, never `//elsewhere`.
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

function pageFor(path: string): ReactNode {
  switch (path) {
    case '/':
      return <NewApp />;
    case '/generations':
      return <Generations />;
    case '/apps':
      return <Apps />;
    case '/settings/tokens':
      return <Tokens />;
    case '/admin':
      return <Admin />;
  }
  const generation = matchPath('/generations/:namespace/:name', path);
  if (generation) {
    // Keyed so that moving to another generation (Retry, Continue) starts a fresh page and stream.
    const { namespace, name } = generation;
    return <GenerationPage key={`${namespace}/${name}`} namespace={namespace} name={name} />;
  }
  return <NotFound />;
}

/** Navigation belongs in an effect, not in rendering. */
function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

type Boot = { config: Config; user?: User } | { error: unknown };

export function App() {
  const [boot, setBoot] = useState<Boot>();
  const { path, search } = useLocation();

  const start = useCallback(async () => {
    setBoot(undefined);
    try {
      const [config, user] = await Promise.all([api.config(), api.me()]);
      setBoot({ config, user });
    } catch (error) {
      setBoot({ error });
    }
  }, []);

  useEffect(() => {
    void start();
  }, [start]);

  const setUser = useCallback((user: User | undefined) => {
    setBoot((b) => (b && 'config' in b ? { config: b.config, user } : b));
  }, []);

  // A 401 anywhere means the session ended (expired, signed out elsewhere): back to sign-in.
  useEffect(() => {
    setUnauthorizedHandler(() => setUser(undefined));
    return () => setUnauthorizedHandler(undefined);
  }, [setUser]);

  const session = useMemo<SessionValue | undefined>(() => {
    if (!boot || !('config' in boot)) return undefined;
    return {
      config: boot.config,
      user: boot.user,
      signedIn: setUser,
      signOut: async () => {
        try {
          await api.logout();
        } finally {
          setUser(undefined);
          navigate('/signin');
        }
      },
    };
  }, [boot, setUser]);

  if (!boot) {
    return <p className="boot muted">Loading…</p>;
  }
  if (!session) {
    return (
      <main className="page boot">
        <h1>appgen is not answering</h1>
        <ErrorText error={'error' in boot ? boot.error : undefined} />
        <button type="button" onClick={() => void start()}>
          Try again
        </button>
      </main>
    );
  }

  const isPublic = PUBLIC_PATHS.includes(path);
  let content: ReactNode;
  if (!session.user) {
    content = isPublic ? (
      path === '/signin' ? <SignIn /> : <SignUp />
    ) : (
      <Redirect to={path === '/' ? '/signin' : `/signin?next=${encodeURIComponent(path)}`} />
    );
  } else if (isPublic) {
    content = <Redirect to={afterSignIn(search)} />;
  } else {
    content = pageFor(path);
  }

  return (
    <SessionContext.Provider value={session}>
      {session.user && <Nav />}
      <main>{content}</main>
    </SessionContext.Provider>
  );
}
