// Hash routing: every view has a deep link such as #/lineage/modelversion:churn/3?depth=3,
// and the server only ever serves / (no server route per view).
import { useEffect, useState } from 'react';

// parse turns a location hash into { path: ['lineage', 'modelversion:churn/3'], query }.
export function parse(hash) {
  const raw = (hash || '').replace(/^#/, '') || '/';
  const [pathPart, queryPart = ''] = raw.split('?');
  // The first segment names the view; the rest is one ID, which may hold slashes.
  const trimmed = pathPart.replace(/^\/+/, '');
  const slash = trimmed.indexOf('/');
  const view = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const rest = slash < 0 ? '' : decodeURIComponent(trimmed.slice(slash + 1));
  return { view, id: rest, query: new URLSearchParams(queryPart) };
}

// href builds a hash link to a view: href('lineage', 'modelversion:churn/3', { depth: 3 }).
export function href(view, id, query) {
  let h = '#/' + view;
  if (id) h += '/' + encodeURIComponent(id).replace(/%2F/g, '/').replace(/%3A/g, ':');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  return qs ? h + '?' + qs : h;
}

export function navigate(view, id, query) {
  window.location.hash = href(view, id, query);
}

// useRoute re-renders on every hash change.
export function useRoute() {
  const [route, setRoute] = useState(() => parse(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parse(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

// graphiqlHref opens GraphiQL with an operation prefilled.
export function graphiqlHref(query, variables) {
  const q = new URLSearchParams({ query });
  if (variables) q.set('variables', JSON.stringify(variables, null, 2));
  return '/graphiql?' + q.toString();
}
