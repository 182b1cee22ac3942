// The details panel of the selected node: node(id) with per-type fields.
import { useQuery } from '../api.js';
import { href } from '../router.js';
import { ErrorBox, Loading, StageBadge } from '../ui.jsx';
import { kindLabel } from './graph.js';
import { NODE_QUERY } from './queries.js';

function Row({ k, children }) {
  if (children === undefined || children === null || children === '') return null;
  return (
    <>
      <dt>{k}</dt>
      <dd>{children}</dd>
    </>
  );
}

function Pairs({ items, limit = 30 }) {
  if (!items || !items.length) return null;
  return (
    <ul className="pairs">
      {items.slice(0, limit).map((p) => (
        <li key={p.key ?? p.name}>
          <code>{p.key ?? p.name}</code> = <span>{String(p.value ?? p.version ?? p.last ?? p.type ?? '')}</span>
        </li>
      ))}
      {items.length > limit ? <li>… {items.length - limit} more</li> : null}
    </ul>
  );
}

function Digest({ value }) {
  if (!value) return null;
  return <code className="digest" title={value}>{value}</code>;
}

// fields lists the type-specific facts of a node as [label, value] rows.
function Specific({ n }) {
  switch (n.kind) {
    case 'DATASET_VERSION':
      return (
        <>
          <Row k="Version">{n.version}</Row>
          <Row k="URI">{n.uri ? <code>{n.uri}</code> : null}</Row>
          <Row k="Digest"><Digest value={n.digest} /></Row>
          <Row k="Format">{n.format}</Row>
          <Row k="Rows">{n.rows}</Row>
          <Row k="Columns">{n.schema?.length ? <Pairs items={n.schema} /> : null}</Row>
        </>
      );
    case 'SPLIT':
      return (
        <>
          <Row k="Split">{n.name}</Row>
          <Row k="Of">{n.datasetVersionId ? <a href={href('lineage', n.datasetVersionId)}>{n.datasetVersionId}</a> : null}</Row>
          <Row k="Digest"><Digest value={n.digest} /></Row>
          <Row k="Rows">{n.rows}</Row>
          <Row k="Fraction">{n.fraction}</Row>
          <Row k="Strategy">{n.strategy}</Row>
          <Row k="Seed">{n.seed}</Row>
        </>
      );
    case 'FEATURE_SET_VERSION':
      return (
        <>
          <Row k="Version">{n.version}</Row>
          <Row k="Digest"><Digest value={n.digest} /></Row>
          <Row k="Features">{n.features?.length ? <Pairs items={n.features} /> : null}</Row>
          <Row k="Transformation">{n.transformation ? <pre className="transformation">{n.transformation}</pre> : null}</Row>
        </>
      );
    case 'CODE_VERSION':
      return (
        <>
          <Row k="Repository">{n.repository}</Row>
          <Row k="Commit"><Digest value={n.commit} /></Row>
          <Row k="Branch">{n.branch}</Row>
          <Row k="Path">{n.path}</Row>
          <Row k="Dirty">{n.dirty ? `yes (diff ${n.diffDigest})` : 'no'}</Row>
        </>
      );
    case 'ENVIRONMENT':
      return (
        <>
          <Row k="Language">{[n.language, n.languageVersion].filter(Boolean).join(' ')}</Row>
          <Row k="Digest"><Digest value={n.digest} /></Row>
          <Row k="Image"><Digest value={n.imageDigest} /></Row>
          <Row k="Packages">{n.packages?.length ? <Pairs items={n.packages} /> : null}</Row>
        </>
      );
    case 'RUN':
      return (
        <>
          <Row k="Status">{n.runStatus}</Row>
          <Row k="Experiment">{n.experimentName}</Row>
          <Row k="Pipeline">{n.pipelineName}</Row>
          <Row k="Started">{n.startedAt}</Row>
          <Row k="Ended">{n.endedAt}</Row>
          <Row k="Params">{n.params?.length ? <Pairs items={n.params} /> : null}</Row>
          <Row k="Metrics (last)">{n.metrics?.length ? <Pairs items={n.metrics} /> : null}</Row>
        </>
      );
    case 'MODEL_VERSION':
      return (
        <>
          <Row k="Stage"><StageBadge stage={n.stage} /></Row>
          <Row k="Version">{n.version}</Row>
          <Row k="Aliases">{n.aliases?.length ? n.aliases.join(', ') : null}</Row>
          <Row k="Framework">{n.framework}</Row>
          <Row k="Artifact">{n.artifactUri ? <code>{n.artifactUri}</code> : null}</Row>
          <Row k="Digest"><Digest value={n.artifactDigest} /></Row>
          <Row k="Model">{n.modelName ? <a href={href('model', n.modelName)}>{n.modelName}</a> : null}</Row>
        </>
      );
    case 'ARTIFACT':
      return (
        <>
          <Row k="Version">{n.version}</Row>
          <Row k="Type">{n.type}</Row>
          <Row k="URI">{n.uri ? <code>{n.uri}</code> : null}</Row>
          <Row k="Digest"><Digest value={n.digest} /></Row>
          <Row k="Media type">{n.mediaType}</Row>
        </>
      );
    case 'DEPLOYMENT':
      return (
        <>
          <Row k="Environment">{n.environment}</Row>
          <Row k="Status">{n.deploymentStatus}</Row>
          <Row k="Version">{n.version}</Row>
          <Row k="Endpoint">{n.endpoint}</Row>
          <Row k="Message">{n.message}</Row>
        </>
      );
    default:
      return <Row k="Name">{n.name}</Row>;
  }
}

export function NodeDetails({ id, fallback }) {
  const { data, error, loading, reload } = useQuery(NODE_QUERY, { id });
  const n = data?.node;
  return (
    <div className="node-details">
      <h3 className="details-title">{n?.label ?? fallback?.label ?? id}</h3>
      <dl>
        <Row k="Kind">{kindLabel(n?.kind ?? fallback?.kind)}</Row>
        <Row k="ID">
          <code className="node-id">{id}</code>
        </Row>
        {n ? (
          <>
            <Specific n={n} />
            <Row k="Created">{n.createdAt}</Row>
            <Row k="Tags">{n.tags?.length ? <Pairs items={n.tags} /> : null}</Row>
            <Row k="Description">{n.description ? <p className="description">{n.description}</p> : null}</Row>
          </>
        ) : null}
      </dl>
      {loading ? <Loading what="Loading details" /> : null}
      <ErrorBox error={error} onRetry={reload} />
      {data && !n ? <p className="muted">This node no longer exists.</p> : null}
    </div>
  );
}
