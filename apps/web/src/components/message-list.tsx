import { sanitizeFileName } from '@hush/client';
import type { Accessor, Component, JSX } from 'solid-js';
import {
  createEffect,
  createSignal,
  For,
  Match,
  on,
  onCleanup,
  onMount,
  Show,
  Switch,
} from 'solid-js';
import type { ChatEntry, Entry, FileEntry, UndecryptableEntry } from '../state/chat-store.js';
import { byteSize, clockDuration, formatClock, isoTime } from '../state/format.js';
import { linkParts } from '../state/linkify.js';
import { memberStyle } from './member-style.js';

/** The reactions offered by the picker (any emoji others send is shown). */
export const REACTION_CHOICES = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;

/** Within this distance of the bottom (px), the list follows new messages. */
const FOLLOW_THRESHOLD_PX = 48;

/** Raster images a browser shows safely inline. */
const INLINE_IMAGE = /^image\/(png|jpeg|gif|webp|avif)$/i;

export interface MessageListProps {
  entries: readonly Entry[];
  ephemeral: number;
  /** Local time, ticking, for ephemeral countdowns. */
  now: Accessor<number>;
  /** Our nickname, to mark our own reactions. */
  selfName: string;
  /** Messages from others that arrived since the reader last saw the bottom of the list. */
  unread: number;
  /** Whether the list shows its newest line (and keeps showing new ones). */
  onFollowingChange: (following: boolean) => void;
  onReply: (ref: number) => void;
  onReact: (ref: number, emoji: string) => void;
  onCancelFile: (transferId: string) => void;
}

/** Moves to a message (a reply's original) and marks it for a moment. */
export function showMessage(ref: number): void {
  const line = document.getElementById(`msg-${ref}`);
  if (line === null) return;
  line.scrollIntoView({ block: 'center' });
  line.classList.add('highlight');
  line.focus({ preventScroll: true });
  setTimeout(() => line.classList.remove('highlight'), 2_000);
}

const VerificationMark: Component<{ entry: ChatEntry | FileEntry }> = (props) => (
  <Show when={!props.entry.own}>
    <Switch>
      <Match when={props.entry.verification === 'invalid'}>
        <span class="mark mark-bad" title="The signature does not match the sender's key">
          ⚠ Signature invalid
        </span>
      </Match>
      <Match when={props.entry.keyChanged}>
        <span
          class="mark mark-warn"
          title="Signed with a key other than the first one seen for this name"
        >
          ⚠ Key changed
        </span>
      </Match>
      <Match when={props.entry.verification === 'verified'}>
        <span class="mark mark-ok" title="Signed by the key this member announced">
          ✓ Verified
        </span>
      </Match>
      <Match when={props.entry.verification === 'unknown-signer'}>
        <span class="mark" title="Signed, but the sender's key has not arrived">
          Unverified
        </span>
      </Match>
      <Match when={props.entry.verification === 'unsigned'}>
        <span class="mark" title="Sent without a signature">
          Unsigned
        </span>
      </Match>
    </Switch>
  </Show>
);

/** "0:09" left before an ephemeral message leaves the view. */
const Countdown: Component<{ expiresAt: number | undefined; now: Accessor<number> }> = (props) => (
  <Show when={props.expiresAt}>
    {(at) => {
      const seconds = () => Math.max(0, (at() - props.now()) / 1000);
      return (
        <span class="countdown" title="Disappears from view in">
          <span class="visually-hidden">Disappears in </span>
          {clockDuration(seconds())}
        </span>
      );
    }}
  </Show>
);

const LinkedText: Component<{ text: string }> = (props) => (
  <For each={linkParts(props.text)}>
    {(part) =>
      part.kind === 'link' ? (
        <a href={part.href} target="_blank" rel="noopener noreferrer">
          {part.text}
        </a>
      ) : (
        part.text
      )
    }
  </For>
);

/** Reactions under a message: one button per emoji with its count, and the picker. */
const Reactions: Component<{
  entry: ChatEntry | FileEntry;
  selfName: string;
  onReact: (emoji: string) => void;
  onReply: () => void;
  canAct: boolean;
}> = (props) => {
  const [picking, setPicking] = createSignal(false);
  const groups = () => {
    const byEmoji = new Map<string, string[]>();
    for (const [name, emoji] of Object.entries(props.entry.reactions)) {
      byEmoji.set(emoji, [...(byEmoji.get(emoji) ?? []), name]);
    }
    return [...byEmoji.entries()].map(([emoji, names]) => ({
      emoji,
      names,
      mine: names.includes(props.selfName),
    }));
  };
  const pick = (emoji: string) => {
    setPicking(false);
    props.onReact(emoji);
  };
  return (
    <div class="message-foot">
      <ul class="reactions" aria-label="Reactions">
        <For each={groups()}>
          {(group) => (
            <li>
              <button
                type="button"
                class="reaction"
                aria-pressed={group.mine}
                disabled={!props.canAct}
                title={group.names.join(', ')}
                aria-label={`${group.emoji} ${group.names.length}: ${group.names.join(', ')}`}
                onClick={() => pick(group.emoji)}
              >
                {group.emoji} <span class="reaction-count">{group.names.length}</span>
              </button>
            </li>
          )}
        </For>
      </ul>
      <Show when={props.canAct}>
        <div class="message-actions">
          <button
            type="button"
            class="icon-button"
            aria-label={`Reply to ${props.entry.own ? 'your message' : props.entry.senderName}`}
            title="Reply"
            onClick={() => props.onReply()}
          >
            ↩
          </button>
          <button
            type="button"
            class="icon-button"
            aria-label="Add a reaction"
            title="React"
            aria-expanded={picking()}
            onClick={() => setPicking((open) => !open)}
          >
            ☺
          </button>
        </div>
      </Show>
      <Show when={picking()}>
        <div
          class="picker"
          role="group"
          aria-label="Pick a reaction"
          onKeyDown={(event) => {
            if (event.key === 'Escape') {
              event.stopPropagation();
              setPicking(false);
            }
          }}
        >
          <For each={REACTION_CHOICES}>
            {(emoji) => (
              <button
                type="button"
                class="icon-button"
                aria-label={`React with ${emoji}`}
                ref={(el) => {
                  if (emoji === REACTION_CHOICES[0]) queueMicrotask(() => el.focus());
                }}
                onClick={() => pick(emoji)}
              >
                {emoji}
              </button>
            )}
          </For>
        </div>
      </Show>
    </div>
  );
};

const Meta: Component<{ entry: ChatEntry | FileEntry; now: Accessor<number> }> = (props) => (
  <div class="message-meta">
    <span class="sender" dir="auto" data-sender={props.entry.senderName}>
      <Show when={props.entry.own} fallback={props.entry.senderName}>
        You
      </Show>
    </span>
    <VerificationMark entry={props.entry} />
    <time datetime={isoTime(props.entry.t)}>{formatClock(props.entry.t)}</time>
    <Countdown expiresAt={props.entry.expiresAt} now={props.now} />
  </div>
);

const ChatLine: Component<{
  entry: ChatEntry;
  now: Accessor<number>;
  selfName: string;
  onReply: (ref: number) => void;
  onReact: (ref: number, emoji: string) => void;
}> = (props) => (
  <li
    id={props.entry.ref === undefined ? undefined : `msg-${props.entry.ref}`}
    class="message"
    classList={{ own: props.entry.own }}
    data-status={props.entry.status}
    data-verification={props.entry.verification}
    style={memberStyle(props.entry.colors)}
    tabindex="-1"
  >
    <Meta entry={props.entry} now={props.now} />
    <Show when={props.entry.reply}>
      {(reply) => (
        <Show
          when={reply().ref}
          fallback={
            <blockquote class="quote">
              <span class="quote-sender" dir="auto">
                {reply().senderName}
              </span>{' '}
              <span dir="auto">{reply().preview}</span>
            </blockquote>
          }
        >
          {(ref) => (
            <button
              type="button"
              class="quote"
              aria-label={`Replying to ${reply().senderName}: ${reply().preview}. Show that message`}
              onClick={() => showMessage(ref())}
            >
              <span class="quote-sender" dir="auto">
                {reply().senderName}
              </span>{' '}
              <span dir="auto">{reply().preview}</span>
            </button>
          )}
        </Show>
      )}
    </Show>
    <p class="message-text" dir="auto">
      <LinkedText text={props.entry.text} />
    </p>
    <Switch>
      <Match when={props.entry.status === 'queued'}>
        <p class="message-state">Waiting to send</p>
      </Match>
      <Match when={props.entry.status === 'unsent'}>
        <p class="message-state warn">Not sent</p>
      </Match>
    </Switch>
    <Reactions
      entry={props.entry}
      selfName={props.selfName}
      canAct={
        props.entry.ref !== undefined &&
        props.entry.status !== 'unsent' &&
        props.entry.status !== 'queued'
      }
      onReact={(emoji) => props.onReact(props.entry.ref!, emoji)}
      onReply={() => props.onReply(props.entry.ref!)}
    />
  </li>
);

function fileStateText(entry: FileEntry): string {
  const percent = entry.size === 0 ? 0 : Math.floor((100 * entry.bytes) / entry.size);
  switch (entry.state) {
    case 'queued':
      return 'Waiting to send';
    case 'sending':
      return `Sending… ${percent}%`;
    case 'sent':
      return entry.acks === 0 ? 'Sent' : `Sent · received by ${entry.acks}`;
    case 'receiving':
      return `Receiving… ${percent}%`;
    case 'received':
      return 'Received';
    case 'failed':
      return `Failed: ${entry.reason ?? 'unknown reason'}`;
    case 'cancelled':
      return 'Cancelled';
  }
}

const FileLine: Component<{
  entry: FileEntry;
  now: Accessor<number>;
  selfName: string;
  onReply: (ref: number) => void;
  onReact: (ref: number, emoji: string) => void;
  onCancel: (transferId: string) => void;
}> = (props) => {
  const image = () =>
    INLINE_IMAGE.test(props.entry.mimeType) && props.entry.url !== undefined
      ? props.entry.url
      : props.entry.previewUrl;
  const moving = () =>
    props.entry.state === 'queued' ||
    props.entry.state === 'sending' ||
    props.entry.state === 'receiving';
  return (
    <li
      id={props.entry.ref === undefined ? undefined : `msg-${props.entry.ref}`}
      class="message file"
      classList={{ own: props.entry.own }}
      data-state={props.entry.state}
      data-verification={props.entry.verification}
      style={memberStyle(props.entry.colors)}
      tabindex="-1"
    >
      <Meta entry={props.entry} now={props.now} />
      <Show when={image()}>
        {(src) => (
          <img
            class="file-image"
            src={src()}
            alt={`Picture: ${props.entry.fileName}`}
            data-preview={src() === props.entry.previewUrl ? 'thumbnail' : 'full'}
          />
        )}
      </Show>
      <div class="file-info">
        <span class="file-name" dir="auto">
          {props.entry.fileName}
        </span>
        <span class="file-size">{byteSize(props.entry.size)}</span>
      </div>
      <Show when={moving()}>
        <progress
          class="file-progress"
          max={props.entry.size}
          value={props.entry.bytes}
          aria-label={`${props.entry.own ? 'Sending' : 'Receiving'} ${props.entry.fileName}`}
        />
      </Show>
      <p class="file-state" classList={{ warn: props.entry.state === 'failed' }}>
        {fileStateText(props.entry)}
      </p>
      <div class="file-actions">
        <Show when={props.entry.url !== undefined && props.entry.state !== 'failed'}>
          <a
            class="button-link"
            href={props.entry.url}
            download={sanitizeFileName(props.entry.fileName)}
          >
            Download <span class="visually-hidden">{props.entry.fileName}</span>
          </a>
        </Show>
        <Show
          when={
            props.entry.own && (props.entry.state === 'queued' || props.entry.state === 'sending')
          }
        >
          <button type="button" onClick={() => props.onCancel(props.entry.transferId)}>
            Cancel <span class="visually-hidden">sending {props.entry.fileName}</span>
          </button>
        </Show>
      </div>
      <Reactions
        entry={props.entry}
        selfName={props.selfName}
        canAct={props.entry.ref !== undefined && props.entry.state !== 'queued'}
        onReact={(emoji) => props.onReact(props.entry.ref!, emoji)}
        onReply={() => props.onReply(props.entry.ref!)}
      />
    </li>
  );
};

const UndecryptableLine: Component<{ entry: UndecryptableEntry }> = (props) => (
  <li class="system-line warn undecryptable" style={memberStyle(props.entry.colors)}>
    <span>
      {`Could not decrypt ${props.entry.count === 1 ? 'a message' : `${props.entry.count} messages`} from `}
      <span dir="auto">{props.entry.senderName}</span>
      {'. They may be using a different key for this room.'}
    </span>
    <time datetime={isoTime(props.entry.t)}>{formatClock(props.entry.t)}</time>
  </li>
);

/** The conversation: chat lines (own ones distinct), files and room events, newest last. */
export const MessageList: Component<MessageListProps> = (props) => {
  let scroller: HTMLDivElement | undefined;
  let content: HTMLOListElement | undefined;
  const [following, setFollowing] = createSignal(true);

  const toBottom = () => {
    if (scroller !== undefined) scroller.scrollTop = scroller.scrollHeight;
  };

  // Content grows after it is added (pictures load, lines wrap on narrow screens): keep the
  // newest line in view whenever the list is following, whatever changed its height.
  onMount(() => {
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (following()) toBottom();
    });
    if (content !== undefined) observer.observe(content);
    if (scroller !== undefined) observer.observe(scroller);
    onCleanup(() => observer.disconnect());
  });
  createEffect(
    on(
      () => props.entries.length,
      () => {
        if (following()) toBottom();
      },
    ),
  );
  createEffect(on(following, (value) => props.onFollowingChange(value)));

  const onScroll = () => {
    if (scroller === undefined) return;
    const distance = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
    setFollowing(distance <= FOLLOW_THRESHOLD_PX);
  };

  const line = (entry: Entry): JSX.Element => {
    switch (entry.kind) {
      case 'message':
        return (
          <ChatLine
            entry={entry}
            now={props.now}
            selfName={props.selfName}
            onReply={props.onReply}
            onReact={props.onReact}
          />
        );
      case 'file':
        return (
          <FileLine
            entry={entry}
            now={props.now}
            selfName={props.selfName}
            onReply={props.onReply}
            onReact={props.onReact}
            onCancel={props.onCancelFile}
          />
        );
      case 'undecryptable':
        return <UndecryptableLine entry={entry} />;
      case 'system':
        return (
          <li class="system-line" classList={{ warn: entry.tone === 'warning' }}>
            <span>{entry.text}</span>
            <time datetime={isoTime(entry.t)}>{formatClock(entry.t)}</time>
          </li>
        );
    }
  };

  return (
    <div class="messages-frame">
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
        <ol ref={content} class="message-list">
          <For each={props.entries}>{(entry) => line(entry)}</For>
        </ol>
      </div>
      <Show when={!following()}>
        <button
          type="button"
          class="jump-latest"
          onClick={() => {
            toBottom();
            setFollowing(true);
          }}
        >
          Jump to latest
          <Show when={props.unread > 0}>{` (${props.unread} new)`}</Show>
        </button>
      </Show>
    </div>
  );
};
