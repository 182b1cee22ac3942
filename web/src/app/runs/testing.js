// Test helper: a fake /graphql behind fetch, answering by operation.
import { vi } from 'vitest';

// fakeFetch(handler) stubs fetch; handler(query, variables) returns
// { data } or { errors } (the JSON body). Calls are recorded.
export function fakeFetch(handler) {
  const calls = [];
  const fn = vi.fn(async (url, init) => {
    const { query, variables } = JSON.parse(init.body);
    calls.push({ query, variables });
    const body = await handler(query, variables || {});
    return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
  });
  vi.stubGlobal('fetch', fn);
  return calls;
}

export function route(hash) {
  const [path, q = ''] = hash.replace(/^#\/?/, '').split('?');
  return { view: path, id: '', query: new URLSearchParams(q) };
}
