import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Generation } from '../api';
import { SessionContext } from '../session';
import { FakeEventSource, generation, sessionFor, stubFetch } from '../test/fakes';
import { GenerationPage } from './GenerationPage';

const PATH = '/api/v1/generations/user-alice/todo-list-abcde';

function renderPage() {
  render(
    <SessionContext.Provider value={sessionFor()}>
      <GenerationPage namespace="user-alice" name="todo-list-abcde" />
    </SessionContext.Provider>,
  );
}

function delivered(): Generation {
  const g = generation();
  return {
    ...g,
    status: {
      phase: 'Delivered',
      step: 'deliver',
      outputs: { url: 'http://todo-list.localhost:8080/', size: 20480, sha256: 'ab'.repeat(32) },
      usage: { costUsd: 0, durationSeconds: 42 },
      conditions: [{ type: 'Delivered', status: 'True', reason: 'Delivered', message: 'The app is live.' }],
      blueprint: { entities: [{ name: 'Todo', fields: [{ name: 'title', type: 'string', required: true }] }] },
    },
    links: { ...g.links, archive: `${PATH}/archive`, screenshots: [`${PATH}/screenshots/home.png`] },
  };
}

beforeEach(() => {
  FakeEventSource.install();
});

/** The stream opens in an effect after the page first shows the generation. */
async function streamOpened(): Promise<FakeEventSource> {
  await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
  return FakeEventSource.latest();
}

describe('the generation page', () => {
  it('shows the stream as a timeline, then the outputs once the outcome arrives, and closes the stream', async () => {
    let answer = generation();
    const calls = stubFetch({ [`GET ${PATH}`]: () => ({ status: 200, body: answer }) });
    renderPage();
    await screen.findByRole('heading', { name: 'todo-list', level: 1 });
    expect(screen.getByText('Running')).toBeTruthy();
    expect(screen.getByText('A tiny todo list with a title and a done flag')).toBeTruthy();

    const es = await streamOpened();
    expect(es.url).toBe(`${PATH}/events`);
    act(() => {
      es.open();
      es.sendEvent(1, 1, 'phase', { step: 'prepare', state: 'started' });
      es.sendEvent(1, 2, 'log', { message: 'agent: scaffold' });
      es.sendEvent(1, 3, 'phase', { step: 'prepare', state: 'finished', durationMs: 1500 });
      es.sendEvent(1, 4, 'phase', { step: 'verify/build', state: 'started' });
      es.sendEvent(1, 5, 'agent', { kind: 'text', text: 'Building the client.\nThen the server.' });
    });
    const progress = screen.getByRole('list', { name: 'Progress' });
    expect(within(progress).getByText('Prepare the workspace')).toBeTruthy();
    expect(within(progress).getByText('1.5 s')).toBeTruthy();
    expect(within(progress).getByText('running…')).toBeTruthy();
    // The chatty parts are there but collapsed.
    const message = within(progress).getByText('Agent: Building the client.');
    expect((message.closest('details') as HTMLDetailsElement).open).toBe(false);
    const logs = within(progress).getByText('1 log line');
    expect((logs.closest('details') as HTMLDetailsElement).open).toBe(false);

    act(() => {
      es.sendEvent(1, 6, 'gate', { gate: 'build', passed: true, durationMs: 3200 });
      es.sendEvent(1, 7, 'gate', { gate: 'test', passed: false, durationMs: 800, message: '1 test failed' });
      es.send('status', { ...generation(), status: { phase: 'Running', step: 'verify/test' } });
    });
    expect(within(progress).getByText('✓ passed').parentElement?.textContent).toBe('✓ passed build in 3.2 s');
    expect(within(progress).getByText('✗ failed').parentElement?.textContent).toContain('test in 800 ms1 test failed');
    expect(screen.getByText(/step verify\/test/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Cancel' })).toBeTruthy();

    answer = delivered();
    act(() => {
      es.send('outcome', { phase: 'Delivered' });
    });
    expect(es.readyState).toBe(FakeEventSource.CLOSED);
    const download = await screen.findByRole('link', { name: 'Download source (20.0 kB)' });
    expect(download.getAttribute('href')).toBe(`${PATH}/archive`);
    const live = screen.getByRole('link', { name: 'Open live app ↗' });
    expect(live.getAttribute('target')).toBe('_blank');
    expect(live.getAttribute('rel')).toBe('noopener');
    expect(screen.getByTitle('Live preview of todo-list').getAttribute('src')).toBe('http://todo-list.localhost:8080/');
    expect(screen.getByAltText(/Screenshot of todo-list/).getAttribute('src')).toBe(`${PATH}/screenshots/home.png`);
    expect(screen.getByRole('table', { name: 'Todo' })).toBeTruthy();
    expect(screen.getByText('The app is live.')).toBeTruthy();
    expect(screen.getByText('Delivered', { selector: '.badge' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Cancel' })).toBeNull();
    expect(calls.filter((c) => c.path === PATH)).toHaveLength(2);
    // Finished: nothing reconnects, and the steps no longer say they are running.
    expect(within(progress).queryByText('running…')).toBeNull();
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it('reconnects after drops and server restarts without losing or duplicating events', async () => {
    stubFetch({ [`GET ${PATH}`]: { status: 200, body: generation() } });
    renderPage();
    const first = await streamOpened();
    vi.useFakeTimers();
    act(() => {
      first.open();
      first.sendEvent(1, 1, 'phase', { step: 'verify/install', state: 'started' });
      first.sendEvent(1, 2, 'log', { message: 'line one' });
      first.sendEvent(1, 3, 'log', { message: 'line two' });
    });
    expect(screen.queryByText('reconnecting…')).toBeNull();

    // A network drop: EventSource retries by itself and resends Last-Event-ID.
    act(() => first.fail(false));
    expect(screen.getByText('reconnecting…')).toBeTruthy();
    act(() => {
      first.open();
      first.sendEvent(1, 3, 'log', { message: 'line two' });
      first.sendEvent(1, 4, 'log', { message: 'line three' });
    });
    expect(screen.queryByText('reconnecting…')).toBeNull();
    expect(screen.getByText('3 log lines')).toBeTruthy();

    // The server restarts and answers 502: EventSource gives up, so the page reopens it.
    act(() => first.fail(true));
    expect(screen.getByText('reconnecting…')).toBeTruthy();
    act(() => vi.advanceTimersByTime(999));
    expect(FakeEventSource.instances).toHaveLength(1);
    act(() => vi.advanceTimersByTime(1));
    expect(FakeEventSource.instances).toHaveLength(2);
    const second = FakeEventSource.latest();
    expect(second.url).toBe(`${PATH}/events?lastEventId=1-4`);

    // Still down: the next try waits longer.
    act(() => second.fail(true));
    act(() => vi.advanceTimersByTime(1999));
    expect(FakeEventSource.instances).toHaveLength(2);
    act(() => vi.advanceTimersByTime(1));
    const third = FakeEventSource.latest();
    expect(third.url).toBe(`${PATH}/events?lastEventId=1-4`);

    act(() => {
      third.open();
      third.sendEvent(1, 4, 'log', { message: 'line three' });
      third.sendEvent(1, 5, 'log', { message: 'line four' });
    });
    expect(screen.queryByText('reconnecting…')).toBeNull();
    const logs = screen.getByText('4 log lines').closest('details') as HTMLDetailsElement;
    expect(logs.querySelector('pre')?.textContent).toBe('line one\nline two\nline three\nline four');
    expect(first.readyState).toBe(FakeEventSource.CLOSED);
    expect(second.readyState).toBe(FakeEventSource.CLOSED);
  });

  it('keeps asking for the live URL after delivery until the preview is up, then stops', async () => {
    const completionTime = new Date().toISOString();
    const withoutUrl = delivered();
    withoutUrl.status = { ...withoutUrl.status!, outputs: { size: 20480 }, completionTime };
    const starting = delivered();
    starting.status = {
      ...starting.status!,
      completionTime,
      conditions: [{ type: 'Previewing', status: 'False', reason: 'Starting', message: 'run 1 is starting' }],
    };
    const running = delivered();
    running.status = {
      ...running.status!,
      completionTime,
      conditions: [{ type: 'Previewing', status: 'True', reason: 'Running', message: 'run 1 serves it' }],
    };
    const answers = [withoutUrl, withoutUrl, starting, running];
    let gets = 0;
    stubFetch({
      [`GET ${PATH}`]: () => {
        gets += 1;
        return { status: 200, body: answers[Math.min(gets, answers.length) - 1] };
      },
    });
    renderPage();
    const es = await streamOpened();
    act(() => es.send('outcome', { phase: 'Delivered' }));
    await screen.findByText(/The live preview is starting/);
    expect(screen.queryByRole('link', { name: 'Open live app ↗' })).toBeNull();
    expect(gets).toBe(2);

    vi.useFakeTimers();
    await act(() => vi.advanceTimersByTimeAsync(3000));
    expect(gets).toBe(3);
    expect(screen.getByRole('link', { name: 'Open live app ↗' }).getAttribute('href')).toBe('http://todo-list.localhost:8080/');
    expect(screen.queryByText(/The live preview is starting/)).toBeNull();
    expect(screen.getByText('run 1 is starting')).toBeTruthy();
    await act(() => vi.advanceTimersByTimeAsync(3000));
    expect(gets).toBe(4);
    expect(screen.getByText('run 1 serves it')).toBeTruthy();
    await act(() => vi.advanceTimersByTimeAsync(30_000));
    expect(gets).toBe(4);
  });

  it('answers Not found for a generation that is not ours, without opening a stream', async () => {
    stubFetch({
      [`GET ${PATH}`]: { status: 404, body: { error: { code: 'not_found', message: 'No such generation.' } } },
    });
    renderPage();
    await screen.findByRole('heading', { name: 'Not found' });
    expect(FakeEventSource.instances).toHaveLength(0);
  });

  it('cancels a running generation', async () => {
    const calls = stubFetch({
      [`GET ${PATH}`]: { status: 200, body: generation() },
      [`POST ${PATH}/cancel`]: { status: 200, body: { ...generation(), spec: { ...generation().spec, cancel: true } } },
    });
    renderPage();
    fireEvent.click(await screen.findByRole('button', { name: 'Cancel' }));
    await screen.findByRole('button', { name: 'Cancelling…' });
    expect(calls.map((c) => `${c.method} ${c.path}`)).toContain(`POST ${PATH}/cancel`);
    const es = await streamOpened();
    act(() => es.send('status', { ...generation(), status: { phase: 'Cancelled' } }));
    expect(screen.getByText('Cancelled', { selector: '.badge' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Retry' })).toBeTruthy();
  });

  it('continues a delivered app with a follow-up and opens the new generation', async () => {
    const next = generation({ name: 'todo-list-fghij' });
    const calls = stubFetch({
      [`GET ${PATH}`]: { status: 200, body: delivered() },
      [`POST ${PATH}/continue`]: { status: 201, body: next },
    });
    renderPage();
    fireEvent.change(await screen.findByLabelText('What should change?'), {
      target: { value: 'Add a due date' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    await waitFor(() => expect(window.location.pathname).toBe('/generations/user-alice/todo-list-fghij'));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ prompt: 'Add a due date' });
  });
});
