import { cleanup, render, screen, within } from '@solidjs/testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatEntry, Entry } from '../state/room-store.js';
import { MessageList, UNDECRYPTABLE_TEXT } from './message-list.js';

afterEach(cleanup);

function message(overrides: Partial<ChatEntry>): ChatEntry {
  return {
    kind: 'message',
    key: `k-${Math.random()}`,
    own: false,
    senderId: 'm-ben',
    senderName: 'Ben',
    color: '#e11d48',
    t: Date.UTC(2025, 0, 1, 9, 30),
    text: 'hello',
    id: undefined,
    status: 'received',
    ...overrides,
  };
}

const entries: Entry[] = [
  message({ key: 'a', senderName: 'Ben', color: '#e11d48', text: 'hi Ana' }),
  message({
    key: 'b',
    own: true,
    senderId: 'm-ana',
    senderName: 'Ana',
    color: '#3b82f6',
    text: 'hi Ben',
    status: 'sent',
  }),
  { kind: 'system', key: 'c', t: Date.UTC(2025, 0, 1, 9, 31), text: 'Cleo joined' },
  message({
    key: 'd',
    senderName: 'Cleo',
    color: '#10b981',
    text: undefined,
    status: 'undecryptable',
  }),
  message({ key: 'e', own: true, senderName: 'Ana', text: 'typed offline', status: 'queued' }),
];

describe('MessageList', () => {
  it('renders a live log of messages with sender names and timestamps', () => {
    render(() => <MessageList entries={entries} ephemeral={0} />);
    const log = screen.getByRole('log', { name: 'Messages' });
    expect(log.getAttribute('aria-live')).toBe('polite');
    const items = within(log).getAllByRole('listitem');
    expect(items).toHaveLength(5);
    expect(items[0]?.textContent).toContain('Ben');
    expect(items[0]?.textContent).toContain('hi Ana');
    const time = items[0]?.querySelector('time');
    expect(time?.getAttribute('datetime')).toBe('2025-01-01T09:30:00.000Z');
    expect(time?.textContent).toMatch(/\d{1,2}:30/);
  });

  it('sets own messages apart and labels them "You"', () => {
    render(() => <MessageList entries={entries} ephemeral={0} />);
    const items = screen.getAllByRole('listitem');
    expect(items[0]?.classList.contains('own')).toBe(false);
    expect(items[1]?.classList.contains('own')).toBe(true);
    expect(items[1]?.querySelector('.sender')?.textContent).toBe('You');
    expect(items[0]?.querySelector('.sender')?.textContent).toBe('Ben');
  });

  it("gives each sender's messages their colour", () => {
    render(() => <MessageList entries={entries} ephemeral={0} />);
    const items = screen.getAllByRole('listitem');
    expect(items[0]?.style.getPropertyValue('--member-color')).toBe('#e11d48');
    expect(items[3]?.style.getPropertyValue('--member-color')).toBe('#10b981');
  });

  it('shows room events, undecryptable messages and unsent ones for what they are', () => {
    render(() => <MessageList entries={entries} ephemeral={0} />);
    const items = screen.getAllByRole('listitem');
    expect(items[2]?.classList.contains('system-line')).toBe(true);
    expect(items[2]?.textContent).toContain('Cleo joined');
    expect(items[3]?.textContent).toContain(UNDECRYPTABLE_TEXT);
    expect(items[3]?.classList.contains('undecryptable')).toBe(true);
    expect(items[4]?.textContent).toContain('Waiting to send');
  });

  it('says the room is empty, and that messages vanish in an ephemeral room', () => {
    render(() => <MessageList entries={[]} ephemeral={30} />);
    expect(screen.getByText(/No messages yet/).textContent).toContain(
      'disappears from view after 30 s',
    );
  });

  it('renders text as text, never as markup', () => {
    render(() => (
      <MessageList
        entries={[message({ text: '<img src=x onerror=alert(1)> **bold**' })]}
        ephemeral={0}
      />
    ));
    const item = screen.getByRole('listitem');
    expect(item.querySelector('img')).toBeNull();
    expect(item.textContent).toContain('<img src=x onerror=alert(1)> **bold**');
  });
});
