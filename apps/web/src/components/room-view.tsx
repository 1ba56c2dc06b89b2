import type { Component } from 'solid-js';
import { createEffect, createSignal, on, onCleanup, onMount, Show, untrack } from 'solid-js';
import type { ChatStore, ReplyView } from '../state/chat-store.js';
import { expiryText, LAST_HOUR_SECONDS } from '../state/format.js';
import { readJoinInput } from '../state/join-route.js';
import { Composer } from './composer.js';
import { ConnectionStatus } from './connection-status.js';
import { MemberList, VerifyPanel } from './member-list.js';
import { MessageList } from './message-list.js';
import type { Notifier } from './notifications.js';
import { NoticeList } from './notice-list.js';
import { SharePanel } from './share-panel.js';
import { TypingIndicator } from './typing-indicator.js';
import { useNow } from './use-now.js';

const TITLE = 'Hush';

/** The key in the share code does not open this room: say so, and take the code again. */
const KeyMismatchBanner: Component<{ store: ChatStore }> = (props) => {
  const [text, setText] = createSignal('');
  const [error, setError] = createSignal<string>();
  return (
    <form
      class="banner key-mismatch"
      role="alert"
      aria-labelledby="mismatch-text"
      onSubmit={(event) => {
        event.preventDefault();
        const read = readJoinInput(text());
        if (!read.ok) {
          setError(read.message);
          return;
        }
        setError(undefined);
        void props.store.reenterKey(read.code);
      }}
    >
      <p id="mismatch-text">
        The key in your share code does not match this room: nothing the others send can be
        decrypted, and they cannot read you. Ask for the share code again and paste it here.
      </p>
      <label for="reenter-code" class="visually-hidden">
        Share code or join link
      </label>
      <div class="copy-row">
        <input
          id="reenter-code"
          class="mono"
          autocomplete="off"
          spellcheck={false}
          placeholder="Share code or join link"
          aria-invalid={error() !== undefined}
          aria-describedby="reenter-error"
          value={text()}
          onInput={(event) => setText(event.currentTarget.value)}
        />
        <button type="submit" class="primary">
          Rejoin with this code
        </button>
      </div>
      <p id="reenter-error" class="form-error">
        {error() ?? ''}
      </p>
    </form>
  );
};

/** The chat: messages, composer, members, safety code, invitation, connection state. */
export const RoomView: Component<{ store: ChatStore; notifier: Notifier }> = (props) => {
  const [panelOpen, setPanelOpen] = createSignal(false);
  const [replyTo, setReplyTo] = createSignal<number>();
  const [following, setFollowing] = createSignal(true);
  const [visible, setVisible] = createSignal(document.visibilityState !== 'hidden');
  // Initial value only: what was there when the room opened counts as seen.
  const [seen, setSeen] = createSignal(untrack(() => props.store.room.incoming));
  const [notify, setNotify] = createSignal(false);
  const [dragging, setDragging] = createSignal(false);
  const now = useNow(1_000);
  const store = () => props.store;
  const state = () => props.store.state;
  const room = () => props.store.room;
  let endedAction: HTMLButtonElement | undefined;
  let panelToggle: HTMLButtonElement | undefined;

  const typingNames = () =>
    room()
      .typing.map((id) => room().members.find((m) => m.id === id)?.name)
      .filter((name): name is string => name !== undefined);

  const composerHint = () => {
    const status = state().status;
    if (status === 'closed' || status === 'online') return undefined;
    return 'Offline: what you send now is kept and goes out when the connection is back.';
  };

  const expiry = () => {
    const expiresAt = room().expiresAt;
    if (expiresAt === 0) return 'No expiry';
    const text = expiryText(expiresAt, now());
    return text === 'expired' ? 'Expired' : `Closes ${text}`;
  };
  const closingSoon = () =>
    room().expiresAt !== 0 && room().expiresAt - now() / 1000 <= LAST_HOUR_SECONDS;

  // Unread: what arrived while the reader was scrolled up or the tab was hidden.
  const unread = () => Math.max(0, room().incoming - seen());
  createEffect(() => {
    if (following() && visible()) setSeen(room().incoming);
  });
  createEffect(() => {
    document.title = unread() > 0 ? `(${unread()}) ${TITLE}` : TITLE;
  });
  onCleanup(() => (document.title = TITLE));

  // Desktop notifications (opt-in): the sender's name only, while the tab is hidden.
  createEffect(
    on(
      () => room().incoming,
      () => {
        if (!notify() || visible()) return;
        const last = [...room().entries]
          .reverse()
          .find((entry) => (entry.kind === 'message' || entry.kind === 'file') && !entry.own);
        if (last === undefined || (last.kind !== 'message' && last.kind !== 'file')) return;
        props.notifier.show(
          TITLE,
          `New ${last.kind === 'file' ? 'file' : 'message'} from ${last.senderName}`,
        );
      },
      { defer: true },
    ),
  );

  onMount(() => {
    const onVisibility = () => setVisible(document.visibilityState !== 'hidden');
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      if (panelOpen()) {
        setPanelOpen(false);
        panelToggle?.focus();
      }
    };
    document.addEventListener('visibilitychange', onVisibility);
    document.addEventListener('keydown', onKey);
    onCleanup(() => {
      document.removeEventListener('visibilitychange', onVisibility);
      document.removeEventListener('keydown', onKey);
    });
  });

  createEffect(() => {
    if (state().ended !== undefined) endedAction?.focus();
  });

  const replying = (): ReplyView | undefined => {
    const ref = replyTo();
    if (ref === undefined) return undefined;
    const entry = room().entries.find(
      (e) => (e.kind === 'message' || e.kind === 'file') && e.ref === ref,
    );
    if (entry === undefined || (entry.kind !== 'message' && entry.kind !== 'file'))
      return undefined;
    const text = entry.kind === 'message' ? entry.text : entry.fileName;
    return {
      ref,
      senderName: entry.own ? 'yourself' : entry.senderName,
      preview: [...text].length > 80 ? `${[...text].slice(0, 80).join('')}…` : text,
    };
  };

  const attach = (files: readonly File[]) => {
    for (const file of files) void store().sendFile(file);
  };

  return (
    <div class="room" classList={{ 'panel-open': panelOpen() }}>
      <header class="room-header">
        <div class="room-title">
          <h1>Hush</h1>
          <p class="room-meta" classList={{ soon: closingSoon() }}>
            <Show when={room().ephemeral > 0}>
              {`Messages vanish after ${room().ephemeral} s · `}
            </Show>
            <span data-testid="room-expiry">{expiry()}</span>
          </p>
        </div>
        <ConnectionStatus state={state()} onRetry={() => store().retryNow()} />
        <div class="room-actions">
          <button
            ref={panelToggle}
            type="button"
            class="narrow-only"
            aria-expanded={panelOpen()}
            aria-controls="room-panel"
            onClick={() => setPanelOpen((open) => !open)}
          >
            {panelOpen() ? 'Back to chat' : `Members (${room().members.length}) & invite`}
          </button>
          <button type="button" onClick={() => store().leave()}>
            Leave
          </button>
        </div>
      </header>

      <NoticeList notices={state().notices} onDismiss={(id) => store().dismissNotice(id)} />

      <Show when={state().keyMismatch && state().ended === undefined}>
        <KeyMismatchBanner store={store()} />
      </Show>

      <Show when={state().ended}>
        {(ended) => (
          <div class="banner" role="alert">
            <p>{ended().text}</p>
            <button ref={endedAction} type="button" class="primary" onClick={() => store().leave()}>
              Back to start
            </button>
          </div>
        )}
      </Show>

      <main class="room-main">
        <section
          class="chat"
          classList={{ dragging: dragging() }}
          aria-label="Chat"
          onDragOver={(event) => {
            if (!event.dataTransfer?.types.includes('Files') || state().status === 'closed') return;
            event.preventDefault();
            setDragging(true);
          }}
          onDragLeave={(event) => {
            if (event.currentTarget.contains(event.relatedTarget as Node | null)) return;
            setDragging(false);
          }}
          onDrop={(event) => {
            event.preventDefault();
            setDragging(false);
            const files = [...(event.dataTransfer?.files ?? [])];
            if (files.length > 0 && state().status !== 'closed') attach(files);
          }}
        >
          <MessageList
            entries={room().entries}
            ephemeral={room().ephemeral}
            now={now}
            selfName={store().self()?.name ?? state().name}
            unread={unread()}
            onFollowingChange={setFollowing}
            onReply={(ref) => setReplyTo(ref)}
            onReact={(ref, emoji) => store().react(ref, emoji)}
            onCancelFile={(id) => store().cancelFile(id)}
          />
          <TypingIndicator names={typingNames()} />
          <Composer
            disabled={state().status === 'closed'}
            hint={composerHint()}
            replyingTo={replying()}
            onCancelReply={() => setReplyTo(undefined)}
            onSend={(text) => {
              const result = store().send(text, replyTo());
              if (result === 'queued') setReplyTo(undefined);
              return result;
            }}
            onInput={(text) => store().inputChanged(text)}
            onBlur={() => store().stopTyping()}
            onAttach={attach}
          />
        </section>

        <section id="room-panel" class="side-panel" aria-label="Room details">
          <MemberList
            members={room().members}
            selfId={room().selfId}
            verification={state().verification}
          />
          <VerifyPanel verification={state().verification} />
          <Show when={state().ended === undefined}>
            <SharePanel share={state().share} />
          </Show>
          <Show when={props.notifier.supported}>
            <section class="panel-section" aria-labelledby="alerts-heading">
              <h2 id="alerts-heading">Alerts</h2>
              <label class="check">
                <input
                  type="checkbox"
                  checked={notify()}
                  onChange={async (event) => {
                    const wanted = event.currentTarget.checked;
                    const allowed = wanted && (await props.notifier.enable());
                    setNotify(allowed);
                    event.currentTarget.checked = allowed;
                  }}
                />
                Desktop notifications while this tab is hidden
              </label>
              <p class="help">Off by default. They show who wrote, never what.</p>
            </section>
          </Show>
        </section>
      </main>
    </div>
  );
};
