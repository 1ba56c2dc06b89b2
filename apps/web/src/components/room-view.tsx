import type { Component } from 'solid-js';
import { createEffect, createSignal, Show } from 'solid-js';
import { expiryText } from '../state/format.js';
import type { Session } from '../state/session-store.js';
import { Composer } from './composer.js';
import { ConnectionStatus } from './connection-status.js';
import { MemberList } from './member-list.js';
import { MessageList } from './message-list.js';
import { NoticeList } from './notice-list.js';
import { SharePanel } from './share-panel.js';
import { TypingIndicator } from './typing-indicator.js';
import { useNow } from './use-now.js';

/** The chat: messages, composer, members, invitation, connection state. */
export const RoomView: Component<{ session: Session }> = (props) => {
  const [panelOpen, setPanelOpen] = createSignal(false);
  const now = useNow(30_000);
  const session = () => props.session;
  const state = () => props.session.state;
  const room = () => props.session.room.state;
  let endedAction: HTMLButtonElement | undefined;

  const typingNames = () =>
    room()
      .typing.map((id) => room().members.find((m) => m.id === id)?.name)
      .filter((name): name is string => name !== undefined);

  const composerHint = () => {
    const status = state().status;
    if (status === 'closed' || status === 'online') return undefined;
    return 'Offline: what you send now is kept and goes out when the connection is back.';
  };

  createEffect(() => {
    if (state().ended !== undefined) endedAction?.focus();
  });

  return (
    <div class="room" classList={{ 'panel-open': panelOpen() }}>
      <header class="room-header">
        <div class="room-title">
          <h1>Hush</h1>
          <p class="room-meta">
            <Show
              when={room().ephemeral > 0}
            >{`Messages vanish after ${room().ephemeral} s · `}</Show>
            {room().expiresAt === 0 ? 'No expiry' : `Closes ${expiryText(room().expiresAt, now())}`}
          </p>
        </div>
        <ConnectionStatus state={state()} onRetry={() => session().retryNow()} />
        <div class="room-actions">
          <button
            type="button"
            class="narrow-only"
            aria-expanded={panelOpen()}
            aria-controls="room-panel"
            onClick={() => setPanelOpen((open) => !open)}
          >
            {panelOpen() ? 'Back to chat' : `Members (${room().members.length}) & invite`}
          </button>
          <button type="button" onClick={() => session().leave()}>
            Leave
          </button>
        </div>
      </header>

      <NoticeList notices={state().notices} onDismiss={(id) => session().dismissNotice(id)} />

      <Show when={state().ended}>
        {(ended) => (
          <div class="banner" role="alert">
            <p>{ended().text}</p>
            <button
              ref={endedAction}
              type="button"
              class="primary"
              onClick={() => session().leave()}
            >
              Back to start
            </button>
          </div>
        )}
      </Show>

      <main class="chat" aria-label="Chat">
        <MessageList entries={room().entries} ephemeral={room().ephemeral} />
        <TypingIndicator names={typingNames()} />
        <Composer
          disabled={state().status === 'closed'}
          hint={composerHint()}
          onSend={(text) => session().send(text)}
          onInput={(text) => session().inputChanged(text)}
          onBlur={() => session().stopTyping()}
        />
      </main>

      <aside id="room-panel" class="side-panel" aria-label="Room details">
        <MemberList members={room().members} selfId={room().selfId} />
        <Show when={state().ended === undefined}>
          <SharePanel share={state().share} fingerprint={state().fingerprint} />
        </Show>
      </aside>
    </div>
  );
};
