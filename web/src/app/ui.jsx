// Small shared pieces: loading and error states, stage badges, links.
import { graphiqlHref } from './router.js';

export function Loading({ what = 'Loading' }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

export function ErrorBox({ error, onRetry }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <strong>{error.code || 'ERROR'}</strong>
      {error.field ? <span className="field"> ({error.field})</span> : null}: {error.message}
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

export function StageBadge({ stage }) {
  return <span className={`badge stage-${(stage || 'none').toLowerCase()}`}>{stage || 'NONE'}</span>;
}

// GraphiQLLink opens the current view's operation in GraphiQL, prefilled.
export function GraphiQLLink({ query, variables }) {
  return (
    <a className="graphiql-link" href={graphiqlHref(query, variables)}>
      Open in GraphiQL
    </a>
  );
}
