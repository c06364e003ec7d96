import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from './App';
import { config, stubFetch, user } from './test/fakes';

const unauthorized = { status: 401, body: { error: { code: 'unauthorized', message: 'Sign in first.' } } };
/** How the server answers /auth/me for a visitor: no session is an answer, not an error. */
const visitor = { status: 200, body: { signedIn: false, admin: false } };

function at(path: string) {
  window.history.replaceState(null, '', path);
  render(<App />);
}

describe('signing in', () => {
  it('sends someone who is not signed in to the sign-in page, and back after signing in', async () => {
    const calls = stubFetch({
      'GET /api/v1/config': { status: 200, body: config },
      'GET /api/v1/auth/me': visitor,
      'POST /api/v1/auth/login': ({ body }) =>
        (body as { password: string }).password === 'correct horse battery'
          ? { status: 200, body: { user: user(), csrfToken: 'csrf-123' } }
          : { status: 401, body: { error: { code: 'unauthorized', message: 'Wrong username or password.' } } },
      'GET /api/v1/apps': { status: 200, body: { items: [] } },
    });
    at('/apps');
    await screen.findByRole('heading', { name: 'Sign in to appgen' });
    expect(window.location.pathname + window.location.search).toBe('/signin?next=%2Fapps');
    expect(screen.getByRole('link', { name: 'Create an account' })).toBeTruthy();

    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'alice' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'wrong password' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Wrong username or password.');
    expect(window.location.pathname).toBe('/signin');

    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'correct horse battery' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByRole('heading', { name: 'Apps' });
    expect(window.location.pathname).toBe('/apps');
    const nav = screen.getByRole('banner');
    expect(within(nav).getByText('alice')).toBeTruthy();
    expect(within(nav).getByRole('button', { name: 'Sign out' })).toBeTruthy();
    expect(calls.filter((c) => c.path === '/api/v1/auth/login').map((c) => c.body)).toEqual([
      { username: 'alice', password: 'wrong password' },
      { username: 'alice', password: 'correct horse battery' },
    ]);
  });

  it('sends the CSRF token with every change, and returns to sign-in when the session ends', async () => {
    const calls = stubFetch({
      'GET /api/v1/config': { status: 200, body: config },
      'GET /api/v1/auth/me': { status: 200, body: { user: user(), csrfToken: 'csrf-456' } },
      'GET /api/v1/tokens': { status: 200, body: { items: [] } },
      'POST /api/v1/tokens': unauthorized,
    });
    at('/settings/tokens');
    fireEvent.change(await screen.findByLabelText('Token name'), { target: { value: 'laptop' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    await screen.findByRole('heading', { name: 'Sign in to appgen' });
    const post = calls.find((c) => c.method === 'POST');
    expect(post?.headers['X-CSRF-Token']).toBe('csrf-456');
    expect(calls.find((c) => c.method === 'GET')?.headers['X-CSRF-Token']).toBeUndefined();
  });

  it('says an account waits for approval when sign-up answers 202', async () => {
    stubFetch({
      'GET /api/v1/config': { status: 200, body: { ...config, signup: 'invite' } },
      'GET /api/v1/auth/me': unauthorized,
      'POST /api/v1/auth/signup': { status: 202, body: { user: user({ username: 'bob', status: 'pending' }) } },
    });
    at('/signup');
    fireEvent.change(await screen.findByLabelText('Username'), { target: { value: 'bob' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'a long password' } });
    expect(screen.getByLabelText('Invite code')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Create account' }));
    expect((await screen.findByRole('status')).textContent).toMatch(/bob was created and waits for an administrator/);
  });

  it('shows a refused invite code beside the invite field', async () => {
    stubFetch({
      'GET /api/v1/config': { status: 200, body: { ...config, signup: 'invite' } },
      'GET /api/v1/auth/me': unauthorized,
      'POST /api/v1/auth/signup': {
        status: 422,
        body: { error: { code: 'invalid', field: 'invite', message: 'This invite code is not valid.' } },
      },
    });
    at('/signup');
    fireEvent.change(await screen.findByLabelText('Username'), { target: { value: 'bob' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'a long password' } });
    const invite = screen.getByLabelText('Invite code');
    fireEvent.change(invite, { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create account' }));
    const message = await screen.findByText('This invite code is not valid.');
    expect(invite.getAttribute('aria-describedby')).toContain(message.id);
    expect(invite.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByLabelText('Username').getAttribute('aria-invalid')).toBeNull();
    expect(screen.getAllByRole('alert')).toHaveLength(1);
  });
});

describe('the admin page', () => {
  it('is hidden from users who are not admins', async () => {
    const calls = stubFetch({
      'GET /api/v1/config': { status: 200, body: config },
      'GET /api/v1/auth/me': { status: 200, body: { user: user(), csrfToken: 't' } },
    });
    at('/admin');
    await screen.findByRole('heading', { name: 'Not found' });
    expect(screen.queryByRole('link', { name: 'Admin' })).toBeNull();
    expect(calls.some((c) => c.path.startsWith('/api/v1/admin'))).toBe(false);
  });

  it('lets an admin approve a pending user', async () => {
    const pending = { ...user({ id: 'u2', username: 'bob', status: 'pending' as const }), quota: { concurrent: 2, perDay: 20 } };
    const calls = stubFetch({
      'GET /api/v1/config': { status: 200, body: config },
      'GET /api/v1/auth/me': { status: 200, body: { user: user({ admin: true }), csrfToken: 't' } },
      'GET /api/v1/admin/users': { status: 200, body: { items: [pending] } },
      'GET /api/v1/admin/quotas': { status: 200, body: { concurrent: 2, perDay: 20 } },
      'GET /api/v1/admin/generations': { status: 200, body: { items: [] } },
      'PATCH /api/v1/admin/users/u2': { status: 200, body: { ...pending, status: 'active' } },
    });
    at('/admin');
    expect(await screen.findByRole('link', { name: 'Admin' })).toBeTruthy();
    fireEvent.click(await screen.findByRole('button', { name: 'Approve bob' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'PATCH')).toBe(true));
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ status: 'active' });
  });
});
