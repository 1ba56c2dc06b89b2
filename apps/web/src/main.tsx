import './styles.css';
import { createSignal } from 'solid-js';
import { render } from 'solid-js/web';
import { App } from './app.js';
import type { Route } from './state/join-route.js';
import { routeFromHash } from './state/join-route.js';
import { nicknameMemory } from './state/nickname.js';
import { Session } from './state/session-store.js';
import { browserSocket, linkBase, relaySocketUrl } from './state/socket.js';

/**
 * Reads the join link from the fragment, then removes it from the address bar and history: the
 * key is only ever kept in memory.
 */
function takeRoute(): Route {
  const route = routeFromHash(location.hash);
  if (location.hash !== '') history.replaceState(null, '', location.pathname + location.search);
  return route;
}

const session = new Session({
  url: relaySocketUrl(location.href),
  linkBase: linkBase(location.href),
  connect: browserSocket,
});
const nicknames = nicknameMemory(() => globalThis.localStorage);
const [route, setRoute] = createSignal<Route>(takeRoute());

window.addEventListener('hashchange', () => {
  const next = takeRoute();
  if (next.kind !== 'home' && !session.state.entered) setRoute(next);
});
// Back online: try now instead of waiting out the backoff.
window.addEventListener('online', () => session.retryNow());

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');
render(
  () => (
    <App
      session={session}
      nicknames={nicknames}
      route={route()}
      onRouteDone={() => setRoute({ kind: 'home' })}
    />
  ),
  root,
);
