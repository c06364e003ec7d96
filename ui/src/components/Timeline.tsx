import { useMemo } from 'react';
import type { GenEvent } from '../events';
import { formatDuration } from '../format';
import { buildTimeline, stepTitle, type Entry, type Section } from '../timeline';

/** The generator's progress as steps with durations; the chatty parts (agent messages, tool
 * calls, log lines) are collapsed so the steps stay readable. */
export function Timeline({ events, live }: { events: GenEvent[]; live: boolean }) {
  const sections = useMemo(() => buildTimeline(events), [events]);
  if (sections.length === 0) {
    return <p className="muted">{live ? 'Waiting for the first event…' : 'No events were recorded.'}</p>;
  }
  const severalAttempts = new Set(sections.map((s) => s.attempt)).size > 1;
  return (
    <ol className="timeline" aria-label="Progress">
      {sections.map((section, i) => (
        <li key={section.key} className={`step step-${stepState(section, live)}`}>
          {severalAttempts && (i === 0 || sections[i - 1].attempt !== section.attempt) && (
            <p className="attempt">Attempt {section.attempt}</p>
          )}
          <div className="step-head">
            <span className="step-title">{stepTitle(section.step)}</span>
            {section.step !== undefined && <span className="step-state">{stateText(section, live)}</span>}
          </div>
          {section.entries.length > 0 && (
            <ul className="entries">
              {section.entries.map((entry) => (
                <li key={entry.key}>
                  <EntryView entry={entry} />
                </li>
              ))}
            </ul>
          )}
        </li>
      ))}
    </ol>
  );
}

function stepState(section: Section, live: boolean): string {
  if (section.state === 'finished') return 'finished';
  return live ? 'running' : 'stopped';
}

function stateText(section: Section, live: boolean): string {
  if (section.state === 'finished') {
    return section.durationMs === undefined ? 'done' : formatDuration(section.durationMs);
  }
  return live ? 'running…' : 'did not finish';
}

function EntryView({ entry }: { entry: Entry }) {
  switch (entry.kind) {
    case 'logs':
      return (
        <details className="logs">
          <summary>
            {entry.lines.length} log {entry.lines.length === 1 ? 'line' : 'lines'}
          </summary>
          <pre>{entry.lines.join('\n')}</pre>
        </details>
      );
    case 'gate':
      return (
        <div className={`gate ${entry.passed ? 'gate-passed' : 'gate-failed'}`}>
          <span className="gate-verdict">{entry.passed ? '✓ passed' : '✗ failed'}</span>{' '}
          <span className="gate-name">{entry.gate}</span>
          {entry.durationMs !== undefined && <span className="muted"> in {formatDuration(entry.durationMs)}</span>}
          {entry.message && <pre className="gate-message">{entry.message}</pre>}
        </div>
      );
    case 'detail':
      return (
        <details className={`detail detail-${entry.source}${entry.error ? ' detail-error' : ''}`}>
          <summary>{entry.summary}</summary>
          <pre>{entry.text}</pre>
        </details>
      );
    case 'note':
      return <p className={`note${entry.tone ? ` note-${entry.tone}` : ''}`}>{entry.text}</p>;
  }
}
