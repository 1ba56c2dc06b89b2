import type { Component } from 'solid-js';
import { createEffect, Show } from 'solid-js';
import { HomeView } from './components/home-view.js';
import { RoomView } from './components/room-view.js';
import type { Route } from './state/join-route.js';
import type { NicknameMemory } from './state/nickname.js';
import type { Session } from './state/session-store.js';

export interface AppProps {
  session: Session;
  nicknames: NicknameMemory;
  route: Route;
  onRouteDone: () => void;
}

/** Home until the relay admits us to a room, then the room until we leave it. */
export const App: Component<AppProps> = (props) => {
  // Once in the room, the invitation has served its purpose: leaving goes back to a plain home.
  createEffect(() => {
    if (props.session.state.entered) props.onRouteDone();
  });
  return (
    <Show
      when={props.session.state.entered}
      fallback={
        <HomeView
          session={props.session}
          nicknames={props.nicknames}
          invite={props.route.kind === 'join' ? props.route.code : undefined}
          badLink={props.route.kind === 'bad-link' ? props.route.message : undefined}
          onDismissInvite={() => props.onRouteDone()}
        />
      }
    >
      <RoomView session={props.session} />
    </Show>
  );
};
