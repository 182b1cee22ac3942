// The UI talks to the public GraphQL API only.
import { useCallback, useEffect, useRef, useState } from 'react';

// GraphQLError carries the server's extensions.code and field.
export class GraphQLError extends Error {
  constructor(message, code, field) {
    super(message);
    this.code = code || 'INTERNAL';
    this.field = field;
  }
}

export async function gql(query, variables, { signal } = {}) {
  let resp;
  try {
    resp = await fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new GraphQLError('cannot reach the Pedigree server', 'UNAVAILABLE');
  }
  let body;
  try {
    body = await resp.json();
  } catch {
    throw new GraphQLError(`the server answered ${resp.status} ${resp.statusText}`, 'INTERNAL');
  }
  if (body.errors && body.errors.length) {
    const e = body.errors[0];
    throw new GraphQLError(e.message, e.extensions?.code, e.extensions?.field);
  }
  return body.data;
}

// useQuery runs a query when its variables change; { data, error, loading, reload }.
export function useQuery(query, variables, { skip = false } = {}) {
  const key = JSON.stringify(variables ?? null);
  const [state, setState] = useState({ data: null, error: null, loading: !skip });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    if (skip) return undefined;
    const ctrl = new AbortController();
    const n = ++latest.current;
    setState((s) => ({ data: s.data, error: null, loading: true }));
    gql(query, JSON.parse(key), { signal: ctrl.signal }).then(
      (data) => n === latest.current && setState({ data, error: null, loading: false }),
      (error) => n === latest.current && error.name !== 'AbortError' && setState({ data: null, error, loading: false }),
    );
    return () => ctrl.abort();
  }, [query, key, skip, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}
