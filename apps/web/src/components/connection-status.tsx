import type { Component } from 'solid-js';
import { Show } from 'solid-js';
import type { SessionState } from '../state/chat-store.js';
import { useNow } from './use-now.js';

/** The label for a connection state, without the countdown. */
export function statusLabel(state: SessionState): string {
  switch (state.status) {
    case 'online':
      return state.keyMismatch ? 'Connected, but cannot decrypt this room' : 'Connected';
    case 'connecting':
      return state.entered || state.resuming ? 'Reconnecting…' : 'Connecting…';
    case 'waiting':
      if (!state.entered) return 'Cannot reach the relay. Retrying';
      if (state.dropReason === 'drain') return 'Relay restarting, reconnecting';
      if (state.dropReason === 'refused') return 'Rejoining';
      return 'Connection lost. Reconnecting';
    case 'closed':
      return 'Disconnected';
    case 'idle':
      return 'Not connected';
  }
}

/** Connection state, a countdown to the next attempt, and a way to skip it. */
export const ConnectionStatus: Component<{ state: SessionState; onRetry: () => void }> = (
  props,
) => {
  const now = useNow();
  const seconds = () => Math.max(0, Math.ceil(((props.state.retryAt ?? 0) - now()) / 1000));
  const health = () =>
    props.state.status === 'online' && props.state.keyMismatch ? 'mismatch' : props.state.status;
  return (
    <div class="connection" data-status={health()}>
      <span class="connection-dot" aria-hidden="true" />
      <span class="connection-text">
        <span role="status" class="connection-label">
          {statusLabel(props.state)}
          <Show when={props.state.queued > 0}>{` · ${props.state.queued} waiting to send`}</Show>
        </span>
        <Show when={props.state.status === 'waiting'}>
          <span class="connection-countdown" aria-hidden="true">
            {` in ${seconds()} s`}
          </span>
        </Show>
      </span>
      <Show when={props.state.status === 'waiting'}>
        <button type="button" class="link-button" onClick={() => props.onRetry()}>
          Retry now
        </button>
      </Show>
    </div>
  );
};
