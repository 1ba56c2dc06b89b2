import type { Member } from '@hush/protocol';
import type { Component } from 'solid-js';
import { For, Show } from 'solid-js';
import { memberStyle } from './member-style.js';

/** Who is in the room, in the colours their messages carry. */
export const MemberList: Component<{ members: readonly Member[]; selfId: string | undefined }> = (
  props,
) => (
  <section class="panel-section" aria-labelledby="members-heading">
    <h2 id="members-heading">Members ({props.members.length})</h2>
    <ul class="member-list">
      <For each={props.members}>
        {(member) => (
          <li class="member" style={memberStyle(member.color)}>
            <span class="member-dot" aria-hidden="true" />
            <span class="member-name">{member.name}</span>
            <Show when={member.id === props.selfId}>
              <span class="member-you"> (you)</span>
            </Show>
          </li>
        )}
      </For>
    </ul>
  </section>
);
