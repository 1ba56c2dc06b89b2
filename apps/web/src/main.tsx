import './styles.css';
import { browserTransport } from '@hush/client';
import { createSignal } from 'solid-js';
import { render } from 'solid-js/web';
import { App } from './app.js';
import { InsecurePage } from './components/insecure-page.js';
import { browserNotifier } from './components/notifications.js';
import { makeThumbnail } from './components/thumbnail.js';
import { ChatStore } from './state/chat-store.js';
import type { Route } from './state/join-route.js';
import { routeFromHash } from './state/join-route.js';
import { nicknameMemory } from './state/nickname.js';
import { readRelayConfig } from './state/relay-config.js';
import { roomMemory } from './state/saved-room.js';
import { invitationBase, linkBase, relaySocketUrl } from './state/urls.js';

/**
 * Reads the join link from the fragment, then removes it from the address bar and history: the
 * key is not kept by the browser's history.
 */
function takeRoute(): Route {
  const route = routeFromHash(location.hash);
  if (location.hash !== '') history.replaceState(null, '', location.pathname + location.search);
  return route;
}

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');

if (!window.isSecureContext || globalThis.crypto?.subtle === undefined) {
  render(() => <InsecurePage pageUrl={location.href} />, root);
} else {
  const store = new ChatStore({
    url: relaySocketUrl(location.href),
    linkBase: linkBase(location.href),
    transport: browserTransport(),
    memory: roomMemory(() => globalThis.sessionStorage),
    thumbnail: makeThumbnail,
  });
  const nicknames = nicknameMemory(() => globalThis.localStorage);
  const initialRoute = takeRoute();
  const [route, setRoute] = createSignal<Route>(initialRoute);

  void readRelayConfig(new URL('hush-config.json', location.href).toString()).then((config) => {
    if (config === undefined) return;
    store.setLinkBase(invitationBase(location.href, config.publicUrl));
    store.setLimits(config.limits);
  });

  // A join link wins over the room this tab was in; otherwise a reload rejoins that room.
  if (initialRoute.kind === 'home') void store.resume();

  window.addEventListener('hashchange', () => {
    const next = takeRoute();
    if (next.kind !== 'home' && !store.state.entered) setRoute(next);
  });
  // Back online: try now instead of waiting out the backoff.
  window.addEventListener('online', () => store.retryNow());
  // Leaving the page leaves the room (a reload comes back to it, if anyone kept it open).
  window.addEventListener('beforeunload', (event) => {
    if (store.state.entered && store.state.status !== 'closed') event.preventDefault();
  });

  render(
    () => (
      <App
        store={store}
        nicknames={nicknames}
        notifier={browserNotifier()}
        route={route()}
        onRouteDone={() => setRoute({ kind: 'home' })}
      />
    ),
    root,
  );
}
