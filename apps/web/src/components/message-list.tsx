import type { Component } from 'solid-js';
import { createEffect, For, Match, on, Show, Switch } from 'solid-js';
import type { ChatEntry, Entry } from '../state/room-store.js';
import { formatClock, isoTime } from '../state/format.js';
import { memberStyle } from './member-style.js';

export const UNDECRYPTABLE_TEXT =
  'Could not decrypt this message. The sender may be using a different key for this room.';

/** How close to the bottom (px) the reader must be for new messages to scroll into view. */
const STICKY_BOTTOM_PX = 80;

const ChatLine: Component<{ entry: ChatEntry }> = (props) => (
  <li
    class="message"
    classList={{ own: props.entry.own, undecryptable: props.entry.status === 'undecryptable' }}
    data-status={props.entry.status}
    style={memberStyle(props.entry.color)}
  >
    <div class="message-meta">
      <span class="sender" data-sender={props.entry.senderName}>
        <Show when={props.entry.own} fallback={props.entry.senderName}>
          You
        </Show>
      </span>
      <time datetime={isoTime(props.entry.t)}>{formatClock(props.entry.t)}</time>
      <Switch>
        <Match when={props.entry.status === 'queued'}>
          <span class="message-state">Waiting to send</span>
        </Match>
        <Match when={props.entry.status === 'unsent'}>
          <span class="message-state warn">Not sent</span>
        </Match>
      </Switch>
    </div>
    <Switch fallback={<p class="message-text">{props.entry.text}</p>}>
      <Match when={props.entry.status === 'decrypting'}>
        <p class="message-text muted">Decrypting…</p>
      </Match>
      <Match when={props.entry.status === 'undecryptable'}>
        <p class="message-text muted">{UNDECRYPTABLE_TEXT}</p>
      </Match>
    </Switch>
  </li>
);

/** The conversation: chat lines (own ones distinct) and room events, newest last. */
export const MessageList: Component<{ entries: readonly Entry[]; ephemeral: number }> = (props) => {
  let scroller: HTMLDivElement | undefined;
  let stick = true;
  createEffect(
    on(
      () => props.entries.length,
      () => {
        if (stick && scroller !== undefined) scroller.scrollTop = scroller.scrollHeight;
      },
    ),
  );
  const onScroll = () => {
    if (scroller === undefined) return;
    stick = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < STICKY_BOTTOM_PX;
  };
  return (
    <div
      ref={scroller}
      class="messages"
      role="log"
      aria-label="Messages"
      aria-live="polite"
      tabindex="0"
      onScroll={onScroll}
    >
      <Show when={props.entries.length === 0}>
        <p class="empty">
          No messages yet. Everything you write is encrypted in your browser before it leaves
          <Show when={props.ephemeral > 0}>
            , and disappears from view after {props.ephemeral} s
          </Show>
          .
        </p>
      </Show>
      <ol class="message-list">
        <For each={props.entries}>
          {(entry) => (
            <Show
              when={entry.kind === 'message' ? entry : undefined}
              fallback={
                <li class="system-line">
                  <span>{entry.kind === 'system' ? entry.text : ''}</span>
                  <time datetime={isoTime(entry.t)}>{formatClock(entry.t)}</time>
                </li>
              }
            >
              {(message) => <ChatLine entry={message()} />}
            </Show>
          )}
        </For>
      </ol>
    </div>
  );
};
