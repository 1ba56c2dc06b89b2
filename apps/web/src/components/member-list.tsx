import type { Component } from 'solid-js';
import { For, Show } from 'solid-js';
import type { MemberView, VerificationView } from '../state/chat-store.js';
import { memberStyle } from './member-style.js';

/** Who is in the room, in the colours their messages carry, with their key fingerprints. */
export const MemberList: Component<{
  members: readonly MemberView[];
  selfId: string | undefined;
  verification: VerificationView | undefined;
}> = (props) => (
  <section class="panel-section" aria-labelledby="members-heading">
    <h2 id="members-heading">Members ({props.members.length})</h2>
    <ul class="member-list">
      <For each={props.members}>
        {(member) => (
          <li class="member" style={memberStyle(member.colors)}>
            <span class="member-dot" aria-hidden="true" />
            <span class="member-text">
              <span class="member-name" dir="auto">
                {member.name}
              </span>
              <Show when={member.id === props.selfId}>
                <span class="member-you"> (you)</span>
              </Show>
              <Show when={member.keyChanged}>
                <span class="mark mark-warn"> ⚠ key changed</span>
              </Show>
              <Show when={member.unreadable}>
                <span class="mark mark-bad"> cannot decrypt their messages</span>
              </Show>
              <span class="member-key mono" data-testid="member-fingerprint">
                {props.verification?.fingerprints[member.id] ?? 'no signing key yet'}
              </span>
            </span>
          </li>
        )}
      </For>
    </ul>
  </section>
);

/** The room safety code, and what comparing it proves. */
export const VerifyPanel: Component<{ verification: VerificationView | undefined }> = (props) => (
  <section class="panel-section verify" aria-labelledby="verify-heading">
    <h2 id="verify-heading">Safety code</h2>
    <p class="safety-code mono" data-testid="safety-code">
      {props.verification?.safetyCode ?? '…'}
    </p>
    <p class="help">
      Compare it with the others over a call or in person. It is made from the room key and the
      signing keys of everyone present: if anyone sees a different code, someone holds another key
      or a member is present that you do not see.
    </p>
    <Show when={(props.verification?.missing.length ?? 0) > 0}>
      <p class="help warn-text">
        {`Not covered yet: ${props.verification?.missing.join(', ')} (no signing key seen). Codes can differ until their keys arrive.`}
      </p>
    </Show>
    <h3>Room key fingerprint</h3>
    <p class="fingerprint mono" data-testid="fingerprint">
      {props.verification?.roomKeyFingerprint ?? '…'}
    </p>
  </section>
);
