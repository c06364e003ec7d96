import { Link } from '../router';

export function NotFound({ what = 'There is no page at this address.' }: { what?: string }) {
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>{what}</p>
      <p>
        <Link to="/generations">Your generations</Link> · <Link to="/">Describe a new app</Link>
      </p>
    </div>
  );
}
