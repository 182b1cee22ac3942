// Entry point of the /graphiql page. No JSX, so the build needs no React plugin.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import './graphiql.css';

import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL, HISTORY_PLUGIN } from 'graphiql';
import { explorerPlugin } from '@graphiql/plugin-explorer';

import { defaultTabs } from './examples.js';
import { createFetcher, endpoints } from './fetcher.js';

// tabProps puts an operation passed as ?query= (and optional ?variables=)
// first, ahead of the examples, so links from the UI open it ready to run.
// GraphiQL uses defaultTabs only when nothing is stored yet; initialQuery
// covers a returning visitor by opening (or reusing) a tab for the operation.
function tabProps(search) {
  const params = new URLSearchParams(search);
  const query = params.get('query');
  const variables = params.get('variables');
  const tabs = defaultTabs();
  if (!query) return { defaultTabs: tabs };
  const props = {
    defaultTabs: [{ query, variables }, ...tabs],
    initialQuery: query,
  };
  if (variables) props.initialVariables = variables;
  return props;
}

const explorer = explorerPlugin();

createRoot(document.getElementById('graphiql')).render(
  createElement(GraphiQL, {
    fetcher: createFetcher(endpoints(window.location)),
    // Passing plugins replaces GraphiQL's default list, so keep history.
    plugins: [HISTORY_PLUGIN, explorer],
    ...tabProps(window.location.search),
  }),
);
