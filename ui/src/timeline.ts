// Turns the event log into what a person reads: one section per step of the pipeline (with its
// duration once it finished), holding that step's gate results, agent messages, tool calls and
// log lines. Pure, so the grouping is tested without a browser.

import { formatBytes, formatCost, formatCount } from './format';
import type { GenEvent } from './events';

export type Entry =
  | { kind: 'logs'; key: string; lines: string[] }
  | { kind: 'gate'; key: string; gate: string; passed: boolean; durationMs?: number; message?: string }
  /** Agent messages and tool calls: a one-line summary, the rest collapsed. */
  | { kind: 'detail'; key: string; source: 'agent' | 'tool'; summary: string; text: string; error?: boolean }
  | { kind: 'note'; key: string; text: string; tone?: 'ok' | 'error' };

export interface Section {
  key: string;
  attempt: number;
  /** The pipeline step, e.g. `verify/build`; undefined for what came before the first step. */
  step?: string;
  state: 'running' | 'finished';
  durationMs?: number;
  entries: Entry[];
}

const STEP_TITLES: Record<string, string> = {
  prepare: 'Prepare the workspace',
  'agent/understand': 'Understand the idea',
  'agent/write': 'Write the app',
  'verify/install': 'Install dependencies',
  'verify/typecheck': 'Type-check',
  'verify/build': 'Build',
  'verify/test': 'Run the tests',
  'verify/boot': 'Boot the server',
  'verify/smoke': 'Open it in a browser',
  package: 'Package the source',
  deliver: 'Deliver',
};

export function stepTitle(step: string | undefined): string {
  if (step === undefined) return 'Starting';
  return STEP_TITLES[step] ?? step;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function firstLine(value: string, max = 100): string {
  const line = value.split('\n', 1)[0].trim();
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** The entry for one non-phase event. */
function entryFor(event: GenEvent): Entry {
  const { body, id: key } = event;
  switch (event.type) {
    case 'log':
      return { kind: 'logs', key, lines: [text(body.message) ?? text(body.line) ?? pretty(body)] };
    case 'gate':
      return {
        kind: 'gate',
        key,
        gate: text(body.gate) ?? 'gate',
        passed: body.passed === true,
        durationMs: num(body.durationMs),
        message: text(body.message),
      };
    case 'agent':
      return agentEntry(key, body);
    case 'tool':
      return toolEntry(key, body);
    case 'artifact': {
      const facts = [
        num(body.size) !== undefined ? formatBytes(num(body.size)!) : undefined,
        num(body.files) !== undefined ? `${num(body.files)} files` : undefined,
      ].filter(Boolean);
      return { kind: 'note', key, text: `Saved ${text(body.name) ?? 'an artifact'}${facts.length ? ` (${facts.join(', ')})` : ''}` };
    }
    case 'usage':
      return { kind: 'note', key, text: usageText(body) };
    case 'result':
      return body.delivered === true
        ? { kind: 'note', key, text: 'Delivered', tone: 'ok' }
        : { kind: 'note', key, text: 'Finished without delivering', tone: 'error' };
    case 'error':
      return {
        kind: 'note',
        key,
        tone: 'error',
        text: `${text(body.step) ? `Failed at ${text(body.step)}: ` : 'Failed: '}${text(body.message) ?? 'no reason given'}`,
      };
    case 'phase':
      return { kind: 'note', key, text: text(body.step) ?? 'phase' };
  }
}

function agentEntry(key: string, body: Record<string, unknown>): Entry {
  if (body.kind === 'init') {
    const model = text(body.model);
    return { kind: 'note', key, text: `${text(body.agent) ?? 'The agent'} started${model ? ` (model ${model})` : ''}` };
  }
  if (body.blueprint !== undefined) {
    const entities = (body.blueprint as { entities?: { name?: string; fields?: unknown[] }[] }).entities ?? [];
    const names = entities.map((e) => `${e.name ?? '?'} (${e.fields?.length ?? 0} fields)`);
    return { kind: 'note', key, text: `Understood the data model: ${names.join(', ') || 'no entities'}` };
  }
  if (num(body.repair) !== undefined) {
    const gate = text(body.gate);
    return { kind: 'note', key, text: `Repair round ${num(body.repair)}${gate ? `: the ${gate} gate failed` : ''}` };
  }
  if (body.kind === 'result') {
    const turns = num(body.turns);
    const message = text(body.text) ?? '';
    return {
      kind: 'detail',
      key,
      source: 'agent',
      summary: `Agent finished${turns !== undefined ? ` after ${turns} turns` : ''}${message ? `: ${firstLine(message)}` : ''}`,
      text: message || pretty(body),
      error: body.isError === true,
    };
  }
  const message = text(body.text);
  if (message) return { kind: 'detail', key, source: 'agent', summary: `Agent: ${firstLine(message)}`, text: message };
  return { kind: 'detail', key, source: 'agent', summary: 'Agent', text: pretty(body) };
}

function toolEntry(key: string, body: Record<string, unknown>): Entry {
  if (body.kind === 'result') {
    const output = text(body.output) ?? '';
    const error = body.isError === true;
    return {
      kind: 'detail',
      key,
      source: 'tool',
      summary: `${error ? 'Tool error' : 'Tool result'}${output ? `: ${firstLine(output)}` : ''}`,
      text: output || pretty(body),
      error,
    };
  }
  const name = text(body.tool) ?? text(body.name) ?? 'tool';
  const summary = text(body.summary);
  const detail = summary ?? (body.input !== undefined ? pretty(body.input) : '');
  return {
    kind: 'detail',
    key,
    source: 'tool',
    summary: `Tool: ${name}${detail ? ` ${firstLine(detail, 80)}` : ''}`,
    text: detail || pretty(body),
  };
}

function usageText(body: Record<string, unknown>): string {
  const parts: string[] = [];
  const input = num(body.inputTokens);
  const output = num(body.outputTokens);
  if (input !== undefined || output !== undefined) {
    parts.push(`${formatCount(input ?? 0)} input and ${formatCount(output ?? 0)} output tokens`);
  }
  if (num(body.turns) !== undefined) parts.push(`${num(body.turns)} turns`);
  if (num(body.costUsd) !== undefined) parts.push(formatCost(num(body.costUsd)));
  return `Usage: ${parts.join(', ') || 'reported'}`;
}

/** Groups ordered events into sections; consecutive log lines in a section share one entry. */
export function buildTimeline(events: readonly GenEvent[]): Section[] {
  const sections: Section[] = [];
  const current = (attempt: number): Section => {
    const last = sections[sections.length - 1];
    if (last && last.attempt === attempt) return last;
    const opening: Section = { key: `${attempt}-start`, attempt, state: 'running', entries: [] };
    sections.push(opening);
    return opening;
  };
  for (const event of events) {
    if (event.type === 'phase') {
      const step = text(event.body.step) ?? 'step';
      if (event.body.state === 'finished') {
        const open = [...sections].reverse().find((s) => s.attempt === event.attempt && s.step === step && s.state === 'running');
        const section = open ?? { key: event.id, attempt: event.attempt, step, state: 'running' as const, entries: [] };
        if (!open) sections.push(section);
        section.state = 'finished';
        section.durationMs = num(event.body.durationMs);
      } else {
        sections.push({ key: event.id, attempt: event.attempt, step, state: 'running', entries: [] });
      }
      continue;
    }
    const section = current(event.attempt);
    const entry = entryFor(event);
    const previous = section.entries[section.entries.length - 1];
    if (entry.kind === 'logs' && previous?.kind === 'logs') {
      previous.lines.push(...entry.lines);
    } else {
      section.entries.push(entry);
    }
  }
  // The opening section of an attempt is only there for what came before its first step.
  return sections.filter((s) => s.step !== undefined || s.entries.length > 0);
}
