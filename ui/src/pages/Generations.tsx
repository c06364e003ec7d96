import { api } from '../api';
import { ErrorText } from '../components/ErrorText';
import { GenerationList } from '../components/GenerationList';
import { Link } from '../router';
import { usePolledList } from '../usePolledList';

export function Generations() {
  const list = usePolledList(api.generations);
  return (
    <div className="page">
      <h1>Generations</h1>
      <ErrorText error={list.error} />
      {list.items === undefined ? (
        !list.error && <p className="muted">Loading…</p>
      ) : list.items.length === 0 ? (
        <p>
          No generations yet. <Link to="/">Describe an app</Link> to start one.
        </p>
      ) : (
        <GenerationList items={list.items} />
      )}
      {list.more && (
        <button type="button" onClick={list.loadMore}>
          Show older generations
        </button>
      )}
    </div>
  );
}
