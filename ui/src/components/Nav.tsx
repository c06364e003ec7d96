import { Link, useLocation } from '../router';
import { useSession, useUser } from '../session';

const LINKS = [
  { to: '/', label: 'New app' },
  { to: '/generations', label: 'Generations' },
  { to: '/apps', label: 'Apps' },
  { to: '/settings/tokens', label: 'Tokens' },
];

export function Nav() {
  const user = useUser();
  const { signOut } = useSession();
  const { path } = useLocation();
  const links = user.admin ? [...LINKS, { to: '/admin', label: 'Admin' }] : LINKS;
  const current = (to: string) => (to === '/' ? path === '/' : path === to || path.startsWith(to + '/'));
  return (
    <header className="topbar">
      <Link to="/" className="brand" aria-label="appgen home">
        appgen
      </Link>
      <nav aria-label="Main">
        <ul>
          {links.map((link) => (
            <li key={link.to}>
              <Link to={link.to} aria-current={current(link.to) ? 'page' : undefined}>
                {link.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="who">
        <span className="username" title={user.admin ? 'administrator' : undefined}>
          {user.username}
        </span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </div>
    </header>
  );
}
