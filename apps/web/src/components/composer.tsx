import type { Component } from 'solid-js';
import { createEffect, createSignal, on, onMount, Show } from 'solid-js';
import type { ReplyView, SendResult } from '../state/chat-store.js';
import { FILE_LIMIT_TEXT, MAX_MESSAGE_CODE_POINTS } from '../state/chat-store.js';

export interface ComposerProps {
  disabled: boolean;
  /** Shown under the input, e.g. that messages are kept while offline. */
  hint: string | undefined;
  /** The message being replied to, if any. */
  replyingTo: ReplyView | undefined;
  onCancelReply: () => void;
  onSend: (text: string) => SendResult;
  onInput: (text: string) => void;
  onBlur: () => void;
  onAttach: (files: File[]) => void;
}

/** Length in code points, as the relay's clients count it. */
export function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/**
 * The message input: Enter sends, Shift+Enter starts a new line, with a length counter, the
 * message being replied to (Escape drops it) and a button to attach files.
 */
export const Composer: Component<ComposerProps> = (props) => {
  const [text, setText] = createSignal('');
  let input: HTMLTextAreaElement | undefined;
  let picker: HTMLInputElement | undefined;
  const length = () => codePoints(text().trim());
  const over = () => length() > MAX_MESSAGE_CODE_POINTS;
  onMount(() => input?.focus());
  // Choosing "reply" puts the cursor here.
  createEffect(
    on(
      () => props.replyingTo,
      (reply) => {
        if (reply !== undefined) input?.focus();
      },
      { defer: true },
    ),
  );

  const submit = () => {
    if (props.disabled || over()) return;
    if (props.onSend(text()) === 'queued') setText('');
    input?.focus();
  };

  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <Show when={props.replyingTo}>
        {(reply) => (
          <div class="reply-bar">
            <p class="reply-bar-text">
              Replying to{' '}
              <span class="quote-sender" dir="auto">
                {reply().senderName}
              </span>
              : <span dir="auto">{reply().preview}</span>
            </p>
            <button
              type="button"
              class="icon-button"
              aria-label="Cancel the reply"
              onClick={() => {
                props.onCancelReply();
                input?.focus();
              }}
            >
              ×
            </button>
          </div>
        )}
      </Show>
      <label for="composer-input" class="visually-hidden">
        Message
      </label>
      <textarea
        ref={input}
        id="composer-input"
        class="composer-input"
        rows="2"
        dir="auto"
        placeholder="Write a message…"
        aria-describedby="composer-count composer-hint"
        aria-invalid={over()}
        disabled={props.disabled}
        value={text()}
        onInput={(event) => {
          setText(event.currentTarget.value);
          props.onInput(event.currentTarget.value);
        }}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            submit();
          } else if (event.key === 'Escape' && props.replyingTo !== undefined) {
            event.stopPropagation();
            props.onCancelReply();
          }
        }}
        onBlur={() => props.onBlur()}
      />
      <div class="composer-bar">
        <input
          ref={picker}
          id="composer-file"
          type="file"
          multiple
          class="visually-hidden"
          tabindex="-1"
          aria-hidden="true"
          onChange={(event) => {
            const files = [...(event.currentTarget.files ?? [])];
            event.currentTarget.value = '';
            if (files.length > 0) props.onAttach(files);
          }}
        />
        <button
          type="button"
          class="attach"
          disabled={props.disabled}
          aria-describedby="composer-file-help"
          onClick={() => picker?.click()}
        >
          Attach
        </button>
        <span id="composer-file-help" class="visually-hidden">
          {`${FILE_LIMIT_TEXT}; you can also drop files on the conversation.`}
        </span>
        <span id="composer-count" class="counter" classList={{ over: over() }}>
          {length()} / {MAX_MESSAGE_CODE_POINTS}
        </span>
        <span id="composer-hint" class="composer-hint">
          <Show when={props.hint}>{props.hint}</Show>
        </span>
        <button type="submit" class="primary" disabled={props.disabled || over() || length() === 0}>
          Send
        </button>
      </div>
    </form>
  );
};
