import { exportRoomKey, formatShareCode, generateRoomKey } from '@hush/crypto';
import type { Member } from '@hush/protocol';
import { ErrorCode, ServerType } from '@hush/protocol';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@solidjs/testing-library';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from './app.js';
import type { Route } from './state/join-route.js';
import { routeFromHash } from './state/join-route.js';
import { NICKNAME_STORAGE_KEY, nicknameMemory } from './state/nickname.js';
import { Session } from './state/session-store.js';
import { FakeSockets } from './testing/fake-socket.js';
import { ManualTimers } from './testing/manual-timers.js';

const roomId = 'V1StGXR8_Z5jdHi6B-myT';
const ana: Member = { id: 'm-ana', name: 'Ana', color: '#3b82f6' };
const ben: Member = { id: 'm-ben', name: 'Ben', color: '#e11d48' };

beforeEach(() => localStorage.clear());
afterEach(cleanup);

function renderApp(route: Route = { kind: 'home' }) {
  const sockets = new FakeSockets();
  const timers = new ManualTimers();
  const session = new Session({
    url: 'ws://relay.test/ws',
    linkBase: 'https://hush.test/',
    connect: sockets.connect,
    timers,
  });
  render(() => (
    <App
      session={session}
      nicknames={nicknameMemory(() => localStorage)}
      route={route}
      onRouteDone={() => undefined}
    />
  ));
  return { sockets, session, timers };
}

describe('App', () => {
  it('creates a room from the home page and shows the room with members and an invitation', async () => {
    const { sockets } = renderApp();
    const nickname = screen.getByLabelText('Nickname');
    expect(document.activeElement).toBe(nickname);
    fireEvent.input(nickname, { target: { value: 'Ana' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create room' }));
    await waitFor(() => expect(sockets.all).toHaveLength(1));
    const socket = sockets.last;
    socket.accept();
    socket.deliver({ type: ServerType.RoomCreated, data: { roomId, expiresAt: 0 } });
    socket.deliver({
      type: ServerType.RoomJoined,
      data: {
        roomId,
        members: [ana],
        hasPassword: false,
        ephemeral: 0,
        expiresAt: 0,
        selfId: ana.id,
      },
    });

    const members = await screen.findByRole('region', { name: /Members/ });
    expect(within(members).getByText('Ana')).toBeTruthy();
    expect(within(members).getByText('(you)')).toBeTruthy();
    const code = (screen.getByLabelText('Share code') as HTMLInputElement).value;
    expect(code.startsWith(`${roomId}:`)).toBe(true);
    expect((screen.getByLabelText('Join link') as HTMLInputElement).value).toBe(
      `https://hush.test/#/join/${code}`,
    );
    const qr = await screen.findByAltText('QR code of the join link');
    expect(qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml/);
    await waitFor(() =>
      expect(screen.getByTestId('fingerprint').textContent).toMatch(/^[0-9A-F]{4} /),
    );
    expect(screen.getByText('Connected')).toBeTruthy();

    socket.deliver({ type: ServerType.MemberJoined, data: ben });
    socket.deliver({ type: ServerType.MemberTyping, data: { id: ben.id, typing: true } });
    expect(await screen.findByText('Ben is typing…')).toBeTruthy();
    expect(within(members).getByText('Ben')).toBeTruthy();
    // Nothing about the room went to storage; the nickname only when asked.
    expect(localStorage.length).toBe(0);
  });

  it('remembers the nickname only when asked to', async () => {
    renderApp();
    fireEvent.input(screen.getByLabelText('Nickname'), { target: { value: 'Ana' } });
    fireEvent.click(screen.getByLabelText('Remember my nickname on this device'));
    fireEvent.click(screen.getByRole('button', { name: 'Create room' }));
    expect(localStorage.getItem(NICKNAME_STORAGE_KEY)).toBe('Ana');
    expect(localStorage.length).toBe(1);
  });

  it('opens the join form from a join link and reports a wrong password at the password field', async () => {
    const code = formatShareCode({ roomId, key: exportRoomKey(await generateRoomKey()) });
    const { sockets } = renderApp(routeFromHash(`#/join/${code}`));
    expect(screen.getByRole('heading', { name: 'Join the room you were invited to' })).toBeTruthy();
    fireEvent.input(screen.getByLabelText('Nickname'), { target: { value: 'Ben' } });
    fireEvent.click(screen.getByRole('button', { name: 'Join room' }));
    await waitFor(() => expect(sockets.all).toHaveLength(1));
    sockets.last.accept();
    sockets.last.deliver({
      type: ServerType.Error,
      data: { code: ErrorCode.WrongPassword, msg: 'x' },
    });
    expect((await screen.findByRole('alert')).textContent).toMatch(/Wrong password/);
    expect(document.activeElement).toBe(screen.getByLabelText('Room password'));
  });

  it('tells the user when the room is gone after a reconnect and keeps unsent text visible', async () => {
    const { sockets, session, timers } = renderApp();
    await session.create({ name: 'Ana', password: '', ephemeral: 0, expiry: 0 });
    sockets.last.accept();
    sockets.last.deliver({
      type: ServerType.RoomJoined,
      data: {
        roomId,
        members: [ana],
        hasPassword: false,
        ephemeral: 0,
        expiresAt: 0,
        selfId: ana.id,
      },
    });
    await screen.findByRole('log');
    sockets.last.drop();
    expect(await screen.findByText(/Connection lost/)).toBeTruthy();
    session.send('are you there?');
    expect(await screen.findByText('Waiting to send')).toBeTruthy();
    timers.advance(timers.nextDelay() ?? 0);
    sockets.last.accept();
    sockets.last.deliver({
      type: ServerType.Error,
      data: { code: ErrorCode.RoomNotFound, msg: 'x' },
    });
    expect((await screen.findByRole('alert')).textContent).toMatch(/no longer exists/);
    expect(screen.getByText('Not sent')).toBeTruthy();
    expect(screen.getByText('are you there?')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Back to start' }));
    expect(await screen.findByRole('button', { name: 'Create room' })).toBeTruthy();
  });
});
