import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { SessionContext } from '../session';
import { generation, sessionFor, stubFetch } from '../test/fakes';
import { NewApp } from './NewApp';

function renderPage() {
  render(
    <SessionContext.Provider value={sessionFor()}>
      <NewApp />
    </SessionContext.Provider>,
  );
  return {
    prompt: screen.getByLabelText('What should it do?') as HTMLTextAreaElement,
    app: screen.getByLabelText('App name') as HTMLInputElement,
  };
}

describe('the new app form', () => {
  it('suggests a name from the prompt until the user types one', () => {
    const { prompt, app } = renderPage();
    fireEvent.change(prompt, { target: { value: 'A tiny todo list' } });
    expect(app.value).toBe('todo-list');
    fireEvent.change(prompt, { target: { value: 'A tiny todo list with a done flag' } });
    expect(app.value).toBe('todo-list');
    fireEvent.change(app, { target: { value: 'chores' } });
    fireEvent.change(prompt, { target: { value: 'A recipe box' } });
    expect(app.value).toBe('chores');
  });

  it('submits on Ctrl+Enter and opens the new generation', async () => {
    const created = generation({ namespace: 'user-alice', name: 'todo-list-x1y2z' });
    const calls = stubFetch({ 'POST /api/v1/generations': { status: 201, body: created } });
    const { prompt } = renderPage();
    fireEvent.change(prompt, { target: { value: 'A tiny todo list with a title and a done flag' } });
    fireEvent.keyDown(prompt, { key: 'Enter', ctrlKey: true });
    await screen.findByText('Creating…');
    await waitFor(() => expect(window.location.pathname).toBe('/generations/user-alice/todo-list-x1y2z'));
    expect(calls).toHaveLength(1);
    expect(calls[0].body).toEqual({
      prompt: 'A tiny todo list with a title and a done flag',
      app: 'todo-list',
      agent: { name: 'scaffold' },
      delivery: { deploy: { target: 'preview' } },
    });
  });

  it('does not submit on a plain Enter in the prompt', () => {
    const calls = stubFetch({});
    const { prompt } = renderPage();
    fireEvent.change(prompt, { target: { value: 'A tiny todo list' } });
    fireEvent.keyDown(prompt, { key: 'Enter' });
    expect(calls).toHaveLength(0);
  });

  it('shows a 422 next to the field it names', async () => {
    stubFetch({
      'POST /api/v1/generations': {
        status: 422,
        body: { error: { code: 'invalid', field: 'app', message: 'The app name must be a DNS label.' } },
      },
    });
    const { prompt, app } = renderPage();
    fireEvent.change(prompt, { target: { value: 'A tiny todo list' } });
    fireEvent.change(app, { target: { value: 'Bad_Name' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create app' }));
    const message = await screen.findByText('The app name must be a DNS label.');
    // Beside the name field, and the field points at it.
    expect(message.id).toBe('app-error');
    expect(app.getAttribute('aria-describedby')).toBe('app-error');
    expect(app.getAttribute('aria-invalid')).toBe('true');
    expect(app.parentElement?.contains(message)).toBe(true);
    expect(prompt.getAttribute('aria-invalid')).toBeNull();
  });

  it('shows a budget error beside the budget, which only claude-code has', async () => {
    stubFetch({
      'POST /api/v1/generations': {
        status: 422,
        body: { error: { code: 'invalid', field: 'agent.maxBudgetUsd', message: 'The budget must be at most $50.' } },
      },
    });
    const { prompt } = renderPage();
    expect(screen.queryByLabelText('Budget (USD)')).toBeNull();
    fireEvent.change(screen.getByLabelText('Agent'), { target: { value: 'claude-code' } });
    const budget = screen.getByLabelText('Budget (USD)');
    fireEvent.change(budget, { target: { value: '80' } });
    fireEvent.change(prompt, { target: { value: 'A tiny todo list' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create app' }));
    const message = await screen.findByText('The budget must be at most $50.');
    expect(budget.parentElement?.contains(message)).toBe(true);
  });

  it('shows a quota message with when to try again', async () => {
    stubFetch({
      'POST /api/v1/generations': {
        status: 429,
        headers: { 'Retry-After': '90' },
        body: { error: { code: 'quota_exceeded', message: 'You have 2 generations running; wait for one to finish.' } },
      },
    });
    const { prompt } = renderPage();
    fireEvent.change(prompt, { target: { value: 'A tiny todo list' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create app' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('You have 2 generations running; wait for one to finish. (you can try again in 1 min 30 s)');
    expect(screen.getByRole('button', { name: 'Create app' })).not.toHaveProperty('disabled', true);
  });
});
