// A small history router: the path is a signal, links are real <a href> (so keyboard, middle
// click and copy-link work), and the gateway answers every app path with index.html.
import { signal } from '@preact/signals';

export const currentPath = signal(location.pathname);

window.addEventListener('popstate', () => {
  currentPath.value = location.pathname;
});

export function navigate(to: string, replace = false): void {
  if (to === location.pathname) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  currentPath.value = location.pathname;
  window.scrollTo(0, 0);
}

/** onClick for <a>: plain left clicks navigate in the app, modified clicks do what browsers do. */
export function linkClick(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (anchor.origin !== location.origin || anchor.target) return;
  event.preventDefault();
  navigate(anchor.pathname);
}

export type Route =
  | { name: 'datasets' }
  | { name: 'dataset'; id: string }
  | { name: 'upload'; id: string }
  | { name: 'review'; id: string }
  | { name: 'models'; id: string }
  | { name: 'export'; id: string }
  | { name: 'not-found' };

export function matchRoute(path: string): Route {
  if (path === '/' || path === '/datasets' || path === '/datasets/') return { name: 'datasets' };
  const match = /^\/datasets\/([^/]+)(?:\/(upload|review|models|export))?\/?$/.exec(path);
  if (!match) return { name: 'not-found' };
  const id = decodeURIComponent(match[1]!);
  const page = (match[2] ?? 'dataset') as 'dataset' | 'upload' | 'review' | 'models' | 'export';
  return { name: page, id };
}

export const datasetPath = (id: string, page?: 'upload' | 'review' | 'models' | 'export') =>
  `/datasets/${encodeURIComponent(id)}${page ? `/${page}` : ''}`;
