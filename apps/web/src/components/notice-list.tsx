import type { Component } from 'solid-js';
import { For } from 'solid-js';
import type { SessionNotice } from '../state/chat-store.js';

/** Transient notices from the relay or about delivery; errors are announced as alerts. */
export const NoticeList: Component<{
  notices: readonly SessionNotice[];
  onDismiss: (id: number) => void;
}> = (props) => (
  <div class="notices" aria-live="polite">
    <For each={props.notices}>
      {(notice) => (
        <div
          class="notice"
          data-tone={notice.tone}
          role={notice.tone === 'error' ? 'alert' : undefined}
        >
          <p>
            {notice.text}
            {notice.count > 1 ? ` (×${notice.count})` : ''}
          </p>
          <button
            type="button"
            class="icon-button"
            aria-label="Dismiss notice"
            onClick={() => props.onDismiss(notice.id)}
          >
            ×
          </button>
        </div>
      )}
    </For>
  </div>
);
