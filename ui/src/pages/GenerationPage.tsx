import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, isFinished, type Generation } from '../api';
import { BlueprintView } from '../components/BlueprintView';
import { ErrorText } from '../components/ErrorText';
import { PhaseBadge } from '../components/PhaseBadge';
import { Timeline } from '../components/Timeline';
import { formatBytes, formatCost, formatCount, formatDuration, formatTime } from '../format';
import { Link, generationHref, navigate } from '../router';
import { useSession } from '../session';
import { useEventStream } from '../useEventStream';
import { NotFound } from './NotFound';

// A live preview starts after its generation is Delivered, when the event stream has already
// ended, so the page asks for the generation again until the preview has an address
// (outputs.url) and its Previewing condition no longer says it is starting.
const PREVIEW_POLL_MS = 3000;
/** Past this long after delivery, a missing address will not come (e.g. a newer version took it). */
const PREVIEW_WAIT_MS = 10 * 60 * 1000;

function previewStartingFor(generation: Generation, deployTargets: string[], now: number): boolean {
  const status = generation.status;
  if (status?.phase !== 'Delivered' || deployTargets.length === 0) return false;
  const target = generation.spec.delivery?.deploy?.target;
  if (target !== undefined && !deployTargets.includes(target)) return false;
  const previewing = status.conditions?.find((c) => c.type === 'Previewing');
  if (status.outputs?.url && previewing?.reason !== 'Starting') return false;
  const delivered = status.completionTime ? Date.parse(status.completionTime) : now;
  return now - delivered < PREVIEW_WAIT_MS;
}

export function GenerationPage({ namespace, name }: { namespace: string; name: string }) {
  const [generation, setGeneration] = useState<Generation>();
  const [loadError, setLoadError] = useState<unknown>();

  const refresh = useCallback(async () => {
    try {
      setGeneration(await api.generation(namespace, name));
      setLoadError(undefined);
    } catch (e) {
      setLoadError(e);
    }
  }, [namespace, name]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // Opened once the generation is known to exist and be ours, so a 404 does not become a
  // stream that retries forever.
  const stream = useEventStream(generation ? api.eventsUrl(namespace, name) : undefined, {
    onStatus: setGeneration,
    // Outputs and screenshots are final now; one GET has all of them.
    onOutcome: () => void refresh(),
  });

  const { config } = useSession();
  const previewStarting =
    generation !== undefined && stream.outcome !== undefined && previewStartingFor(generation, config.deployTargets, Date.now());
  useEffect(() => {
    if (!previewStarting) return;
    // Every answer (a new generation, or a failure) schedules the next look.
    const timer = setTimeout(() => void refresh(), PREVIEW_POLL_MS);
    return () => clearTimeout(timer);
  }, [previewStarting, generation, loadError, refresh]);

  if (loadError instanceof ApiError && loadError.status === 404) {
    return <NotFound what="This generation does not exist, or it is not yours." />;
  }
  if (!generation) {
    return <div className="page">{loadError ? <ErrorText error={loadError} /> : <p className="muted">Loading…</p>}</div>;
  }

  const { spec, status, links } = generation;
  const finished = isFinished(generation);
  const live = !finished && !stream.outcome;
  return (
    <div className="page generation">
      <header className="gen-header">
        <div className="gen-title">
          <h1>{spec.app ?? name}</h1>
          <PhaseBadge phase={status?.phase} />
          {stream.reconnecting && (
            <span className="reconnecting" role="status">
              reconnecting…
            </span>
          )}
        </div>
        <p className="muted">
          {name}
          {status?.step && <> · step {status.step}</>}
          {spec.parent && (
            <>
              {' '}
              · continues <Link to={generationHref(namespace, spec.parent)}>{spec.parent}</Link>
            </>
          )}
        </p>
        {status?.message && <p className={status.phase === 'Failed' ? 'error' : ''}>{status.message}</p>}
      </header>

      <Actions generation={generation} onChange={setGeneration} />

      <Outputs generation={generation} previewStarting={previewStarting} />

      <section>
        <h2>Prompt</h2>
        <p className="prompt">{spec.prompt}</p>
      </section>

      <section>
        <h2>Progress</h2>
        <Timeline events={stream.events} live={live} />
      </section>

      {links.screenshots && links.screenshots.length > 0 && (
        <section>
          <h2>Screenshots</h2>
          <div className="screenshots">
            {links.screenshots.map((src) => (
              <a key={src} href={src} target="_blank" rel="noopener">
                <img src={src} alt={`Screenshot of ${spec.app ?? name}: ${src.split('/').pop()}`} loading="lazy" />
              </a>
            ))}
          </div>
        </section>
      )}

      {status?.blueprint && (
        <section>
          <h2>What the agent understood</h2>
          <BlueprintView blueprint={status.blueprint} />
        </section>
      )}

      {status?.usage && (
        <section>
          <h2>Usage and cost</h2>
          <dl className="facts">
            <dt>Cost</dt>
            <dd>{formatCost(status.usage.costUsd)}</dd>
            {/* The scaffold agent uses no model: its zero tokens and turns say nothing. */}
            {!!(status.usage.inputTokens || status.usage.outputTokens) && (
              <>
                <dt>Tokens</dt>
                <dd>
                  {formatCount(status.usage.inputTokens ?? 0)} in, {formatCount(status.usage.outputTokens ?? 0)} out
                </dd>
              </>
            )}
            {!!status.usage.turns && (
              <>
                <dt>Turns</dt>
                <dd>{status.usage.turns}</dd>
              </>
            )}
            {status.usage.durationSeconds !== undefined && (
              <>
                <dt>Duration</dt>
                <dd>{formatDuration(status.usage.durationSeconds * 1000)}</dd>
              </>
            )}
          </dl>
        </section>
      )}

      {status?.conditions && status.conditions.length > 0 && (
        <section>
          <h2>Conditions</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Message</th>
                  <th scope="col">Changed</th>
                </tr>
              </thead>
              <tbody>
                {status.conditions.map((c) => (
                  <tr key={c.type}>
                    <td>{c.type}</td>
                    <td>{c.status}</td>
                    <td>{c.reason ?? '—'}</td>
                    <td>{c.message ?? '—'}</td>
                    <td>{formatTime(c.lastTransitionTime)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      {status?.phase === 'Delivered' && <ContinueForm generation={generation} />}
    </div>
  );
}

function Outputs({ generation, previewStarting }: { generation: Generation; previewStarting: boolean }) {
  const outputs = generation.status?.outputs;
  const delivered = generation.status?.phase === 'Delivered';
  const archive = delivered ? generation.links.archive : undefined;
  if (!archive && !outputs?.url && !outputs?.repositoryUrl) return null;
  const app = generation.spec.app ?? generation.name;
  return (
    <section className="outputs">
      <h2>Your app</h2>
      <p className="output-links">
        {archive && (
          <a className="button primary" href={archive} download>
            Download source{outputs?.size !== undefined ? ` (${formatBytes(outputs.size)})` : ''}
          </a>
        )}
        {outputs?.url && (
          <a className="button" href={outputs.url} target="_blank" rel="noopener">
            Open live app ↗
          </a>
        )}
        {outputs?.repositoryUrl && (
          <a className="button" href={outputs.repositoryUrl} target="_blank" rel="noopener">
            Repository ↗
          </a>
        )}
      </p>
      {outputs?.sha256 && (
        <p className="muted small">
          sha256 <code>{outputs.sha256}</code>
          {outputs.commit && (
            <>
              {' '}
              · commit <code>{outputs.commit}</code>
            </>
          )}
        </p>
      )}
      {previewStarting && !outputs?.url && (
        <p className="muted" role="status">
          The live preview is starting; its address appears here in a moment.
        </p>
      )}
      {outputs?.url && (
        <div className="preview">
          <p className="muted small">
            Live at <a href={outputs.url} target="_blank" rel="noopener">{outputs.url}</a>
          </p>
          <iframe src={outputs.url} title={`Live preview of ${app}`} loading="lazy" />
        </div>
      )}
    </section>
  );
}

function Actions({ generation, onChange }: { generation: Generation; onChange: (g: Generation) => void }) {
  const { namespace, name } = generation;
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();
  const finished = isFinished(generation);

  const act = async (label: string, action: () => Promise<void>) => {
    setBusy(label);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <div className="actions">
      {!finished && (
        <button
          type="button"
          disabled={busy !== undefined || generation.spec.cancel === true}
          onClick={() => act('cancel', async () => onChange(await api.cancel(namespace, name)))}
        >
          {generation.spec.cancel ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
      {finished && (
        <button
          type="button"
          disabled={busy !== undefined}
          onClick={() =>
            act('retry', async () => {
              const created = await api.retry(namespace, name);
              navigate(generationHref(created.namespace, created.name));
            })
          }
        >
          {busy === 'retry' ? 'Retrying…' : 'Retry'}
        </button>
      )}
      {finished && (
        <button
          type="button"
          className="danger"
          disabled={busy !== undefined}
          onClick={() => {
            if (!window.confirm(`Delete ${name}? Its archive and events go too.`)) return;
            void act('delete', async () => {
              await api.remove(namespace, name);
              navigate('/generations');
            });
          }}
        >
          Delete
        </button>
      )}
      <ErrorText error={error} />
    </div>
  );
}

function ContinueForm({ generation }: { generation: Generation }) {
  const [prompt, setPrompt] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!prompt.trim()) return;
    setBusy(true);
    setError(undefined);
    try {
      const created = await api.continueWith(generation.namespace, generation.name, prompt);
      navigate(generationHref(created.namespace, created.name));
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <section>
      <h2>Continue this app</h2>
      <form onSubmit={submit} className="stack">
        <label htmlFor="follow-up">What should change?</label>
        <textarea
          id="follow-up"
          name="follow-up"
          rows={4}
          required
          placeholder="Add a due date to each item"
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
        />
        <ErrorText error={error} />
        <div>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Starting…' : 'Continue'}
          </button>
        </div>
      </form>
    </section>
  );
}
