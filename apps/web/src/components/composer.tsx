import type { Component } from 'solid-js';
import { createSignal, onMount, Show } from 'solid-js';
import { codePoints, MAX_MESSAGE_CODE_POINTS } from '../state/session-store.js';
import type { SendResult } from '../state/session-store.js';

export interface ComposerProps {
  disabled: boolean;
  /** Shown under the input, e.g. that messages are kept while offline. */
  hint: string | undefined;
  onSend: (text: string) => SendResult;
  onInput: (text: string) => void;
  onBlur: () => void;
}

/** The message input: Enter sends, Shift+Enter starts a new line, with a length counter. */
export const Composer: Component<ComposerProps> = (props) => {
  const [text, setText] = createSignal('');
  let input: HTMLTextAreaElement | undefined;
  const length = () => codePoints(text().trim());
  const over = () => length() > MAX_MESSAGE_CODE_POINTS;
  onMount(() => input?.focus());

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
      <label for="composer-input" class="visually-hidden">
        Message
      </label>
      <textarea
        ref={input}
        id="composer-input"
        class="composer-input"
        rows="2"
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
          }
        }}
        onBlur={() => props.onBlur()}
      />
      <div class="composer-bar">
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
