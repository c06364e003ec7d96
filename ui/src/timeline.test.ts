import { describe, expect, it } from 'vitest';
import type { GenEvent } from './events';
import { buildTimeline } from './timeline';

let seq = 0;
function ev(type: GenEvent['type'], body: Record<string, unknown>, attempt = 1): GenEvent {
  seq += 1;
  return { id: `${attempt}-${seq}`, attempt, seq, ts: '', type, body };
}

describe('buildTimeline', () => {
  it('makes one section per step, finished ones with their duration', () => {
    const sections = buildTimeline([
      ev('phase', { step: 'prepare', state: 'started' }),
      ev('log', { message: 'agent: scaffold' }),
      ev('phase', { step: 'prepare', state: 'finished', durationMs: 120 }),
      ev('phase', { step: 'verify/build', state: 'started' }),
      ev('gate', { gate: 'build', passed: true, durationMs: 3200 }),
      ev('phase', { step: 'verify/build', state: 'finished', durationMs: 3300 }),
      ev('phase', { step: 'verify/test', state: 'started' }),
    ]);
    expect(sections.map((s) => [s.step, s.state, s.durationMs])).toEqual([
      ['prepare', 'finished', 120],
      ['verify/build', 'finished', 3300],
      ['verify/test', 'running', undefined],
    ]);
    expect(sections[1].entries).toEqual([
      { kind: 'gate', key: expect.any(String), gate: 'build', passed: true, durationMs: 3200, message: undefined },
    ]);
  });

  it('groups consecutive log lines, in either body shape, into one entry', () => {
    const [section] = buildTimeline([
      ev('phase', { step: 'verify/install', state: 'started' }),
      ev('log', { message: 'one' }),
      ev('log', { stream: 'stderr', line: 'two' }),
      ev('gate', { gate: 'install', passed: false, message: 'pnpm failed' }),
      ev('log', { message: 'three' }),
    ]);
    expect(section.entries.map((e) => e.kind)).toEqual(['logs', 'gate', 'logs']);
    expect(section.entries[0]).toMatchObject({ lines: ['one', 'two'] });
  });

  it('summarises agent messages and tool calls on one line and keeps the whole text', () => {
    const [section] = buildTimeline([
      ev('phase', { step: 'agent/round-1', state: 'started' }),
      ev('agent', { kind: 'text', text: 'I will add a due date.\nFirst the schema.' }),
      ev('tool', { kind: 'use', tool: 'Bash', summary: 'pnpm run build' }),
      ev('tool', { kind: 'result', isError: true, output: 'error TS2304' }),
      ev('tool', { name: 'Write', input: { file_path: 'src/a.ts' } }),
    ]);
    expect(section.entries).toMatchObject([
      { kind: 'detail', source: 'agent', summary: 'Agent: I will add a due date.', text: 'I will add a due date.\nFirst the schema.' },
      { kind: 'detail', source: 'tool', summary: 'Tool: Bash pnpm run build' },
      { kind: 'detail', source: 'tool', summary: 'Tool error: error TS2304', error: true },
      { kind: 'detail', source: 'tool', summary: expect.stringContaining('Tool: Write') },
    ]);
  });

  it('starts a new run of sections for a new attempt, with what came before its first step', () => {
    const sections = buildTimeline([
      ev('phase', { step: 'prepare', state: 'started' }),
      ev('error', { step: 'prepare', message: 'disk full' }),
      ev('log', { message: 'attempt 2 begins' }, 2),
      ev('phase', { step: 'prepare', state: 'started' }, 2),
      ev('phase', { step: 'prepare', state: 'finished', durationMs: 5 }, 2),
      ev('result', { delivered: true }, 2),
    ]);
    expect(sections.map((s) => [s.attempt, s.step, s.state])).toEqual([
      [1, 'prepare', 'running'],
      [2, undefined, 'running'],
      [2, 'prepare', 'finished'],
    ]);
    expect(sections[0].entries).toMatchObject([{ kind: 'note', tone: 'error', text: 'Failed at prepare: disk full' }]);
    expect(sections[2].entries).toMatchObject([{ kind: 'note', tone: 'ok', text: 'Delivered' }]);
  });
});
