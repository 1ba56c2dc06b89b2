import type { Component } from 'solid-js';
import { createEffect, Show } from 'solid-js';
import { HomeView } from './components/home-view.js';
import type { Notifier } from './components/notifications.js';
import { RoomView } from './components/room-view.js';
import type { ChatStore } from './state/chat-store.js';
import type { Route } from './state/join-route.js';
import type { NicknameMemory } from './state/nickname.js';

export interface AppProps {
  store: ChatStore;
  nicknames: NicknameMemory;
  notifier: Notifier;
  route: Route;
  onRouteDone: () => void;
}

/** Home until the relay admits us to a room, then the room until we leave it. */
export const App: Component<AppProps> = (props) => {
  // Once in the room, the invitation has served its purpose: leaving goes back to a plain home.
  createEffect(() => {
    if (props.store.state.entered) props.onRouteDone();
  });
  return (
    <Show
      when={props.store.state.entered}
      fallback={
        <HomeView
          store={props.store}
          nicknames={props.nicknames}
          invite={props.route.kind === 'join' ? props.route.code : undefined}
          badLink={props.route.kind === 'bad-link' ? props.route.message : undefined}
          onDismissInvite={() => props.onRouteDone()}
        />
      }
    >
      <RoomView store={props.store} notifier={props.notifier} />
    </Show>
  );
};
