import { FakeTransport, ManualClock } from '@hush/client/testing';
import type { Member } from '@hush/protocol';
import { ErrorCode, RATE_LIMITS, ServerType } from '@hush/protocol';
import { cleanup, fireEvent, render, screen, waitFor } from '@solidjs/testing-library';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from './app.js';
import type { Notifier } from './components/notifications.js';
import { ChatStore } from './state/chat-store.js';
import { nicknameMemory } from './state/nickname.js';

const roomId = 'V1StGXR8_Z5jdHi6B-myT';
const ana: Member = { id: 'm-ana', name: 'Ana', color: '#3b82f6' };
const limits = {
  maxFrameBytes: 102_400,
  maxRoomMembers: 50,
  nameMaxCodePoints: 20,
  maxExpirySeconds: 3_600,
  chatPerWindow: 10,
  windowMs: 10_000,
  rates: { ...RATE_LIMITS },
};
const notifier: Notifier = { supported: false, enable: async () => false, show: () => undefined };

beforeEach(() => localStorage.clear());
afterEach(cleanup);

function renderApp() {
  const fake = new FakeTransport();
  const store = new ChatStore({
    url: 'ws://relay.test/ws',
    linkBase: 'https://hush.test/',
    transport: fake.transport,
    clock: new ManualClock(),
    random: () => 0,
  });
  render(() => (
    <App
      store={store}
      nicknames={nicknameMemory(() => localStorage)}
      notifier={notifier}
      route={{ kind: 'home' }}
      onRouteDone={() => undefined}
    />
  ));
  return { fake, store };
}

async function enterRoom(fake: FakeTransport) {
  await waitFor(() => expect(fake.connections).toHaveLength(1));
  const connection = fake.last;
  connection.open();
  connection.receive({
    type: ServerType.Welcome,
    data: { version: 1, features: ['notices', 'self-id'], limits },
  });
  connection.receive({ type: ServerType.RoomCreated, data: { roomId, expiresAt: 0 } });
  connection.receive({
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
  return connection;
}

describe('App', () => {
  it('creates a room when Enter is pressed in the nickname field, and shows the room', async () => {
    const { fake } = renderApp();
    const nickname = screen.getByLabelText('Nickname');
    expect(document.activeElement).toBe(nickname);
    fireEvent.input(nickname, { target: { value: 'Ana' } });
    fireEvent.keyDown(nickname, { key: 'Enter' });
    await enterRoom(fake);
    await screen.findByRole('log', { name: 'Messages' });
    expect(screen.getByText('Connected')).toBeTruthy();
    expect(screen.getByTestId('room-expiry').textContent).toBe('No expiry');
    expect((screen.getByLabelText('Share code') as HTMLInputElement).value).toMatch(/^V1St/);
  });

  it('offers only the expiry choices the relay allows, defaulting to none', async () => {
    const { fake, store } = renderApp();
    const expiry = screen.getByLabelText('Room closes after') as HTMLSelectElement;
    expect(expiry.value).toBe('0');
    expect([...expiry.options].map((o) => o.value)).toContain('604800');
    fireEvent.input(screen.getByLabelText('Nickname'), { target: { value: 'Ana' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create room' }));
    await enterRoom(fake);
    store.leave();
    await waitFor(() =>
      expect(
        [...(screen.getByLabelText('Room closes after') as HTMLSelectElement).options].map(
          (o) => o.value,
        ),
      ).toEqual(['0', '600', '3600']),
    );
  });

  it('shows a nickname problem at the nickname field, marked invalid, with the focus there', async () => {
    const { fake } = renderApp();
    const nickname = screen.getByLabelText('Nickname');
    fireEvent.input(nickname, { target: { value: 'Ana' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create room' }));
    await waitFor(() => expect(fake.connections).toHaveLength(1));
    fake.last.open();
    fake.last.receive({ type: ServerType.Error, data: { code: ErrorCode.NameTaken, msg: '' } });
    await waitFor(() => expect(nickname.getAttribute('aria-invalid')).toBe('true'));
    expect(document.getElementById('nickname-error')?.textContent).toMatch(
      /already uses that nickname/,
    );
    expect(nickname.getAttribute('aria-describedby')).toContain('nickname-error');
    expect(document.activeElement).toBe(nickname);
  });

  it('closes the phone panel with Escape and gives the focus back to its button', async () => {
    const { fake } = renderApp();
    fireEvent.input(screen.getByLabelText('Nickname'), { target: { value: 'Ana' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create room' }));
    await enterRoom(fake);
    const toggle = await screen.findByRole('button', { name: /& invite/ });
    fireEvent.click(toggle);
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    fireEvent.keyDown(document, { key: 'Escape' });
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(document.activeElement).toBe(toggle);
  });

  it('shows a reply as a quote that leads to the original, and text right-to-left when it is', async () => {
    const { fake, store } = renderApp();
    fireEvent.input(screen.getByLabelText('Nickname'), { target: { value: 'Ana' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create room' }));
    await enterRoom(fake);
    await screen.findByRole('log', { name: 'Messages' });
    store.send('שלום לכולם');
    await waitFor(() => expect(document.getElementById('msg-1')).not.toBeNull());
    expect(document.querySelector('#msg-1 .message-text')?.getAttribute('dir')).toBe('auto');
    fireEvent.click(await screen.findByRole('button', { name: 'Reply to your message' }));
    expect(screen.getByText(/Replying to/)).toBeTruthy();
    fireEvent.input(screen.getByLabelText('Message'), { target: { value: 'see above' } });
    fireEvent.keyDown(screen.getByLabelText('Message'), { key: 'Enter' });
    const quote = await screen.findByRole('button', { name: /Replying to Ana: שלום לכולם/ });
    fireEvent.click(quote);
    await waitFor(() => expect(document.activeElement?.id).toBe('msg-1'));
  });
});
