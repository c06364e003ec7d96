import { useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { api, ApiError, type NewGeneration } from '../api';
import { ErrorText, errorMessage } from '../components/ErrorText';
import { formatBytes } from '../format';
import { generationHref, navigate } from '../router';
import { useSession } from '../session';
import { suggestAppName } from '../suggest';

type FieldName = 'prompt' | 'app' | 'agent' | 'budget' | 'deploy';

/** Which control a 422's `field` (a JSON path in the request) belongs to. */
function controlFor(field: string | undefined): FieldName | undefined {
  if (!field) return undefined;
  if (field === 'prompt') return 'prompt';
  if (field === 'app') return 'app';
  if (field === 'agent.maxBudgetUsd') return 'budget';
  if (field === 'agent' || field.startsWith('agent.')) return 'agent';
  if (field === 'delivery' || field.startsWith('delivery.')) return 'deploy';
  return undefined;
}

export function NewApp() {
  const { config } = useSession();
  const form = useRef<HTMLFormElement>(null);
  const [prompt, setPrompt] = useState('');
  const [app, setApp] = useState('');
  // The name follows the prompt until the user types a name of their own.
  const [appEdited, setAppEdited] = useState(false);
  const [agent, setAgent] = useState(config.defaultAgent);
  const [budget, setBudget] = useState('');
  // Where the app goes live; a server with no deploy targets only delivers the archive.
  const [deploy, setDeploy] = useState<string | undefined>(config.deployTargets[0]);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const promptBytes = new TextEncoder().encode(prompt).length;
  const tooLong = promptBytes > config.maxPromptBytes;
  const failed = error instanceof ApiError ? controlFor(error.field) : undefined;
  const fieldError = (name: FieldName) =>
    failed === name ? (
      <p className="field-error" id={`${name}-error`} role="alert">
        {errorMessage(error)}
      </p>
    ) : null;
  const invalid = (name: FieldName) =>
    failed === name ? { 'aria-invalid': true, 'aria-describedby': `${name}-error` } : {};

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (busy || tooLong || !prompt.trim()) return;
    const body: NewGeneration = { prompt };
    if (app.trim()) body.app = app.trim();
    body.agent = { name: agent };
    if (agent === 'claude-code' && budget.trim()) body.agent.maxBudgetUsd = Number(budget);
    if (deploy) body.delivery = { deploy: { target: deploy } };
    setBusy(true);
    setError(undefined);
    try {
      const created = await api.createGeneration(body);
      navigate(generationHref(created.namespace, created.name));
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  const onPromptKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.current?.requestSubmit();
    }
  };

  return (
    <div className="page">
      <h1>Describe your app</h1>
      <form ref={form} onSubmit={submit} className="stack new-app">
        <label htmlFor="prompt">What should it do?</label>
        <textarea
          id="prompt"
          name="prompt"
          rows={9}
          required
          placeholder="A tiny todo list with a title and a done flag"
          value={prompt}
          onKeyDown={onPromptKey}
          onChange={(e) => {
            setPrompt(e.target.value);
            if (!appEdited) setApp(suggestAppName(e.target.value));
          }}
          {...invalid('prompt')}
        />
        <p className={`hint${tooLong ? ' field-error' : ''}`}>
          {tooLong
            ? `The description is ${formatBytes(promptBytes)}; at most ${formatBytes(config.maxPromptBytes)} fits.`
            : 'Ctrl+Enter (⌘+Enter on a Mac) creates the app.'}
        </p>
        {fieldError('prompt')}

        <div className="row">
          <div className="stack">
            <label htmlFor="app">App name</label>
            <input
              id="app"
              name="app"
              autoCapitalize="none"
              spellCheck={false}
              maxLength={63}
              placeholder="todo-list"
              value={app}
              onChange={(e) => {
                setApp(e.target.value);
                setAppEdited(e.target.value !== '');
              }}
              {...invalid('app')}
            />
            <p className="hint">Lowercase letters, digits and hyphens. Versions of one app share its name and URL.</p>
            {fieldError('app')}
          </div>

          <div className="stack">
            <label htmlFor="agent">Agent</label>
            <select id="agent" name="agent" value={agent} onChange={(e) => setAgent(e.target.value)} {...invalid('agent')}>
              {config.agents.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
            {fieldError('agent')}
          </div>

          {agent === 'claude-code' && (
            <div className="stack">
              <label htmlFor="budget">Budget (USD)</label>
              <input
                id="budget"
                name="budget"
                type="number"
                inputMode="decimal"
                min="0.01"
                step="0.01"
                placeholder="server default"
                value={budget}
                onChange={(e) => setBudget(e.target.value)}
                {...invalid('budget')}
              />
              <p className="hint">The most the model may cost for this version.</p>
              {fieldError('budget')}
            </div>
          )}

          {deploy !== undefined && (
            <div className="stack">
              <label htmlFor="deploy">Live URL</label>
              <select id="deploy" name="deploy" value={deploy} onChange={(e) => setDeploy(e.target.value)} {...invalid('deploy')}>
                {config.deployTargets.map((target) => (
                  <option key={target} value={target}>
                    Deploy to {target}
                  </option>
                ))}
              </select>
              {fieldError('deploy')}
            </div>
          )}
        </div>

        {!failed && <ErrorText error={error} />}
        <div>
          <button type="submit" className="primary" disabled={busy || tooLong}>
            {busy ? 'Creating…' : 'Create app'}
          </button>
        </div>
      </form>
    </div>
  );
}
