// The address bar as the app's state: one store over window.location (route.ts gives it meaning),
// told of the app's own pushes; popstate covers Back and Forward.
import { useSyncExternalStore } from 'react';
import { formatRoute, parseRoute, type Route } from './route.ts';

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
const subscribe = (l: () => void) => {
  listeners.add(l);
  window.addEventListener('popstate', l);
  return () => {
    listeners.delete(l);
    window.removeEventListener('popstate', l);
  };
};
const snapshot = () => window.location.pathname + window.location.search;

/** The current route; re-renders when the address changes. */
export function useRoute(): Route {
  const at = useSyncExternalStore(subscribe, snapshot);
  const q = at.indexOf('?');
  return parseRoute(q < 0 ? at : at.slice(0, q), q < 0 ? '' : at.slice(q));
}

/**
 * Goes to a route: a new history entry (Back returns), or `replace` for changes Back should skip
 * (typing in the search). `state.from` marks an entry pushed over another of this app, so closing a
 * card can go back instead of piling up entries.
 */
export function navigate(to: Route | string, opts: { replace?: boolean } = {}): void {
  const url = typeof to === 'string' ? to : formatRoute(to);
  if (url === snapshot()) return;
  if (opts.replace) window.history.replaceState(window.history.state, '', url);
  else window.history.pushState({ pushed: true }, '', url);
  notify();
}

/** Whether the current entry was pushed by the app over another of its own (so Back stays in the app). */
export const canGoBack = () => (window.history.state as { pushed?: boolean } | null)?.pushed === true;

/** The address of old builds (#/bases/12) becomes today's (/bases/12/clients). */
export function upgradeHash(): void {
  const m = /^#\/bases\/(\d+)/.exec(window.location.hash);
  if (m) window.history.replaceState(null, '', `/bases/${m[1]}/clients`);
}
