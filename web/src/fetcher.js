// The GraphiQL fetcher: queries and mutations go to /graphql as HTTP POST,
// subscriptions to the same path over a websocket speaking graphql-transport-ws.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';

// endpoints derives both URLs from the page's own location, so the page works
// behind any host name or TLS terminator without configuration.
export function endpoints(loc) {
  const wsProto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return {
    url: new URL('/graphql', loc.href).href,
    wsUrl: `${wsProto}//${loc.host}/graphql`,
  };
}

// createFetcher returns a GraphiQL fetcher. The headers typed in GraphiQL's
// headers editor (e.g. {"Authorization": "Bearer …"}) are sent as HTTP request
// headers and, for subscriptions, as the connection_init payload, because a
// browser cannot set headers on a websocket. A change of headers replaces the
// websocket client so a new token takes effect.
export function createFetcher({ url, wsUrl }) {
  let current = null;
  return (params, opts) => {
    const headers = (opts && opts.headers) || {};
    const key = JSON.stringify(headers);
    if (!current || current.key !== key) {
      if (current) current.client.dispose();
      // lazy: the socket opens on the first subscription, not on page load.
      const client = createClient({ url: wsUrl, connectionParams: headers, lazy: true });
      const wsClient = errorsAsResult(client);
      current = { key, client, fetcher: createGraphiQLFetcher({ url, wsClient }) };
    }
    return current.fetcher(params, opts);
  };
}

// errorsAsResult wraps a graphql-ws client. graphql-ws reports the server's
// "error" message (a subscription that fails validation, say) as a bare array
// of GraphQL errors, which GraphiQL shows but also leaves as an uncaught
// exception; passing it on as an ordinary { errors } result avoids that.
function errorsAsResult(client) {
  return {
    subscribe(payload, sink) {
      return client.subscribe(payload, {
        next: (v) => sink.next(v),
        complete: () => sink.complete(),
        error(err) {
          if (Array.isArray(err)) {
            sink.next({ errors: err });
            sink.complete();
            return;
          }
          sink.error(err);
        },
      });
    },
  };
}
