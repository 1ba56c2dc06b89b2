import type { ShareCode } from '@hush/crypto';
import type { Component } from 'solid-js';
import { createEffect, createSignal, For, on, onMount, Show, untrack } from 'solid-js';
import type { ChatStore } from '../state/chat-store.js';
import { readJoinInput } from '../state/join-route.js';
import type { NicknameMemory } from '../state/nickname.js';
import type { Problem } from '../state/problems.js';
import {
  DEFAULT_EPHEMERAL,
  DEFAULT_EXPIRY,
  EPHEMERAL_CHOICES,
  expiryChoices,
} from '../state/room-options.js';
import { ConnectionStatus } from './connection-status.js';

export interface HomeViewProps {
  store: ChatStore;
  nicknames: NicknameMemory;
  /** The room of a join link the page was opened with. */
  invite: ShareCode | undefined;
  /** Why the join link the page was opened with could not be read. */
  badLink: string | undefined;
  onDismissInvite: () => void;
}

/** An error shown under its field, tied to it for screen readers. */
const FieldError: Component<{ id: string; text: string | undefined }> = (props) => (
  <p id={props.id} class="form-error" role="alert">
    {props.text ?? ''}
  </p>
);

/** Choose a nickname, then create a room or join one by link or share code. */
export const HomeView: Component<HomeViewProps> = (props) => {
  // Initial values only: the fields are the user's from here on.
  const remembered = untrack(() => props.nicknames.recall());
  const [name, setName] = createSignal(untrack(() => props.store.state.name) || (remembered ?? ''));
  const [remember, setRemember] = createSignal(remembered !== undefined);
  const [createPassword, setCreatePassword] = createSignal('');
  const [ephemeral, setEphemeral] = createSignal(DEFAULT_EPHEMERAL);
  const [expiry, setExpiry] = createSignal(DEFAULT_EXPIRY);
  const [joinText, setJoinText] = createSignal('');
  const [joinPassword, setJoinPassword] = createSignal('');
  const [joinInputError, setJoinInputError] = createSignal<string>();
  const [action, setAction] = createSignal<'create' | 'join'>();
  let nameField: HTMLInputElement | undefined;
  let joinPasswordField: HTMLInputElement | undefined;
  let joinCodeField: HTMLTextAreaElement | undefined;
  let createForm: HTMLFormElement | undefined;
  let inviteForm: HTMLFormElement | undefined;

  const store = () => props.store;
  const state = () => props.store.state;
  const busy = () => state().status !== 'idle';
  const error = () => state().joinError;
  const fieldError = (field: Problem['field']) =>
    error()?.field === field ? error()?.text : undefined;
  const nameError = () => fieldError('name');
  const codeError = () => joinInputError() ?? fieldError('code');

  onMount(() => nameField?.focus());

  // Put the cursor where the problem is.
  createEffect(
    on(error, (problem) => {
      if (problem?.field === 'password') joinPasswordField?.focus();
      else if (problem?.field === 'name') nameField?.focus();
      else if (problem?.field === 'code') joinCodeField?.focus();
    }),
  );

  const keepNickname = () => {
    if (remember()) props.nicknames.remember(name().trim());
    else props.nicknames.forget();
  };

  const create = (event: SubmitEvent) => {
    event.preventDefault();
    if (busy()) return;
    setAction('create');
    keepNickname();
    void store().create({
      name: name(),
      password: createPassword(),
      ephemeral: ephemeral(),
      expiry: expiry(),
    });
  };

  const join = (event: SubmitEvent) => {
    event.preventDefault();
    if (busy()) return;
    setAction('join');
    let code = props.invite;
    if (code === undefined) {
      const read = readJoinInput(joinText());
      if (!read.ok) {
        setJoinInputError(read.message);
        joinCodeField?.focus();
        return;
      }
      code = read.code;
    }
    setJoinInputError(undefined);
    keepNickname();
    void store().join({ name: name(), password: joinPassword(), code });
  };

  // Problems that belong to no field are shown with the form that caused them.
  const formError = (which: 'create' | 'join') => {
    const problem = error();
    if (problem === undefined || problem.field !== undefined) return undefined;
    return action() === which ? problem.text : undefined;
  };
  const pendingFor = (which: 'create' | 'join') => busy() && action() === which;

  const Pending: Component<{ which: 'create' | 'join' }> = (p) => (
    <Show when={pendingFor(p.which)}>
      <div class="pending">
        <ConnectionStatus state={state()} onRetry={() => store().retryNow()} />
        <button type="button" onClick={() => store().leave()}>
          Cancel
        </button>
      </div>
    </Show>
  );

  const JoinFields: Component = () => (
    <>
      <label for="join-password">Room password</label>
      <input
        ref={joinPasswordField}
        id="join-password"
        type="password"
        autocomplete="off"
        aria-invalid={fieldError('password') !== undefined}
        aria-describedby="join-password-help join-password-error"
        value={joinPassword()}
        onInput={(event) => setJoinPassword(event.currentTarget.value)}
      />
      <p id="join-password-help" class="help">
        Only if the room has one.
      </p>
      <FieldError id="join-password-error" text={fieldError('password')} />
      <Show when={formError('join')}>
        {(text) => (
          <p class="form-error" role="alert">
            {text()}
          </p>
        )}
      </Show>
      <Pending which="join" />
      <button type="submit" class="primary" disabled={busy()}>
        Join room
      </button>
    </>
  );

  return (
    <main class="home">
      <header class="brand">
        <h1>Hush</h1>
        <p class="tagline">
          Encrypted, ephemeral group chat. Messages are encrypted in your browser; the relay only
          ever sees ciphertext and keeps no history.
        </p>
      </header>

      <Show when={state().resuming}>
        <section class="card" aria-labelledby="resume-heading">
          <h2 id="resume-heading">Rejoining your room…</h2>
          <p class="help">This tab was in a room before it reloaded.</p>
          <div class="pending">
            <ConnectionStatus state={state()} onRetry={() => store().retryNow()} />
            <button type="button" onClick={() => store().leave()}>
              Cancel
            </button>
          </div>
        </section>
      </Show>

      <Show when={action() === undefined && error()?.field === undefined ? error() : undefined}>
        {(problem) => (
          <p class="form-error card" role="alert">
            {problem().text}
          </p>
        )}
      </Show>

      <section class="card" aria-labelledby="you-heading">
        <h2 id="you-heading">You</h2>
        <label for="nickname">Nickname</label>
        <input
          ref={nameField}
          id="nickname"
          autocomplete="nickname"
          spellcheck={false}
          required
          dir="auto"
          enterkeyhint="go"
          aria-invalid={nameError() !== undefined}
          aria-describedby="nickname-help nickname-error"
          value={name()}
          onInput={(event) => setName(event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key !== 'Enter' || event.isComposing) return;
            event.preventDefault();
            // Enter goes on with the page's main action: the invitation, or a new room.
            (inviteForm ?? createForm)?.requestSubmit();
          }}
        />
        <p id="nickname-help" class="help">
          1 to {state().nameMax} characters, shown to the others in the room.
        </p>
        <FieldError id="nickname-error" text={nameError()} />
        <label class="check">
          <input
            type="checkbox"
            checked={remember()}
            onChange={(event) => {
              setRemember(event.currentTarget.checked);
              if (!event.currentTarget.checked) props.nicknames.forget();
            }}
          />
          Remember my nickname on this device
        </label>
      </section>

      <Show when={props.badLink}>
        {(message) => (
          <p class="form-error card" role="alert">
            This join link cannot be used: {message()}
          </p>
        )}
      </Show>

      <Show when={props.invite}>
        {(invite) => (
          <form
            ref={inviteForm}
            class="card invite"
            aria-labelledby="invite-heading"
            onSubmit={join}
          >
            <h2 id="invite-heading">Join the room you were invited to</h2>
            <p class="help">
              Room <span class="mono">{invite().roomId}</span>
              <Show when={(invite().ephemeral ?? 0) > 0}>
                {`, messages disappear after ${invite().ephemeral} s`}
              </Show>
              .
            </p>
            <JoinFields />
            <button type="button" class="link-button" onClick={() => props.onDismissInvite()}>
              Not now, start a new room instead
            </button>
          </form>
        )}
      </Show>

      <form ref={createForm} class="card" aria-labelledby="create-heading" onSubmit={create}>
        <h2 id="create-heading">Create a room</h2>
        <label for="create-password">Password (optional)</label>
        <input
          id="create-password"
          type="password"
          autocomplete="new-password"
          aria-describedby="create-password-help"
          value={createPassword()}
          onInput={(event) => setCreatePassword(event.currentTarget.value)}
        />
        <p id="create-password-help" class="help">
          Joining will also need this password, on top of the share code.
        </p>
        <label for="ephemeral">Messages disappear after</label>
        <select
          id="ephemeral"
          value={String(ephemeral())}
          onChange={(event) => setEphemeral(Number(event.currentTarget.value))}
        >
          <For each={EPHEMERAL_CHOICES}>
            {(choice) => <option value={String(choice.value)}>{choice.label}</option>}
          </For>
        </select>
        <label for="expiry">Room closes after</label>
        <select
          id="expiry"
          aria-describedby="expiry-help"
          value={String(expiry())}
          onChange={(event) => setExpiry(Number(event.currentTarget.value))}
        >
          <For each={expiryChoices(state().maxExpirySeconds)}>
            {(choice) => <option value={String(choice.value)}>{choice.label}</option>}
          </For>
        </select>
        <p id="expiry-help" class="help">
          Whatever you choose, a room is gone for good once its last member leaves.
        </p>
        <Show when={formError('create')}>
          {(text) => (
            <p class="form-error" role="alert">
              {text()}
            </p>
          )}
        </Show>
        <Pending which="create" />
        <button type="submit" class="primary" disabled={busy()}>
          Create room
        </button>
      </form>

      <Show when={props.invite === undefined}>
        <form class="card" aria-labelledby="join-heading" onSubmit={join}>
          <h2 id="join-heading">Join a room</h2>
          <label for="join-code">Share code or join link</label>
          <textarea
            ref={joinCodeField}
            id="join-code"
            class="mono"
            rows="2"
            spellcheck={false}
            autocomplete="off"
            aria-invalid={codeError() !== undefined}
            aria-describedby="join-code-error"
            value={joinText()}
            onInput={(event) => setJoinText(event.currentTarget.value)}
          />
          <FieldError id="join-code-error" text={codeError()} />
          <JoinFields />
        </form>
      </Show>
    </main>
  );
};
