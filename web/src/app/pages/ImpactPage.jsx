// Impact view: #/impact/<id> — what a (bad) dataset version affects
// downstream: model versions by stage and the deployments serving them.
import { useMemo } from 'react';
import { useQuery } from '../api.js';
import { href, navigate } from '../router.js';
import { ErrorBox, GraphiQLLink, Loading, StageBadge } from '../ui.jsx';
import { SearchBox } from '../lineage/SearchBox.jsx';
import '../lineage/lineage.css';
import { kindLabel } from '../lineage/graph.js';
import { IMPACT_QUERY } from '../lineage/queries.js';

const STAGE_ORDER = ['PRODUCTION', 'STAGING', 'NONE', 'ARCHIVED'];

export function ImpactPage({ route }) {
  if (!route.id) {
    return (
      <section className="impact-start">
        <h1>Impact</h1>
        <p>Pick a dataset version (or a split, feature set version, run…) to see the model versions and deployments downstream of it.</p>
        <SearchBox
          label="Impact of"
          kinds={['DATASET_VERSION', 'SPLIT', 'FEATURE_SET_VERSION', 'CODE_VERSION', 'ENVIRONMENT', 'ARTIFACT', 'RUN']}
          onChoose={(n) => navigate('impact', n.id)}
          autoFocus
        />
      </section>
    );
  }
  return <Impact id={route.id} />;
}

function Impact({ id }) {
  const variables = useMemo(() => ({ of: id }), [id]);
  const { data, error, loading, reload } = useQuery(IMPACT_QUERY, variables);
  const im = data?.impact;
  const groups = useMemo(() => {
    const g = [...(im?.modelVersions || [])].filter((x) => x.versions.length);
    return g.sort((a, b) => STAGE_ORDER.indexOf(a.stage) - STAGE_ORDER.indexOf(b.stage));
  }, [im]);
  const nVersions = groups.reduce((s, g) => s + g.versions.length, 0);
  const live = (im?.deployments || []).filter((d) => d.status !== 'DECOMMISSIONED');

  return (
    <section className="impact">
      <header className="lineage-head">
        <h1>
          Impact of <span className="node-title">{im?.of?.label ?? id}</span>
        </h1>
        <div className="lineage-links">
          <a href={href('lineage', id, { dir: 'down' })}>Downstream lineage</a>
          <GraphiQLLink query={IMPACT_QUERY} variables={variables} />
        </div>
      </header>
      {loading ? <Loading what="Walking downstream" /> : null}
      <ErrorBox error={error} onRetry={reload} />
      {im ? (
        <>
          <p className="muted">
            {kindLabel(im.of.kind)} <code>{im.of.id}</code>
          </p>
          <ul className="impact-counts" aria-label="Counts">
            <li>
              <strong>{nVersions}</strong> model version{nVersions === 1 ? '' : 's'}
            </li>
            <li>
              <strong>{live.length}</strong> live deployment{live.length === 1 ? '' : 's'}
            </li>
            <li>
              <strong>{im.runs.length}</strong> run{im.runs.length === 1 ? '' : 's'}
            </li>
            <li>
              <strong>{im.data.length}</strong> derived data
            </li>
            <li>
              <strong>{im.total}</strong> downstream nodes in all
            </li>
          </ul>
          {im.truncated ? (
            <p className="warning" role="note">
              The walk stopped at its size limit: there is more downstream than shown.
            </p>
          ) : null}

          <h2>Model versions by stage</h2>
          {groups.length === 0 ? <p>No model version depends on this node.</p> : null}
          {groups.map((g) => (
            <section key={g.stage} className="stage-group" aria-labelledby={`stage-${g.stage}`}>
              <h3 id={`stage-${g.stage}`}>
                <StageBadge stage={g.stage} /> {g.versions.length}
              </h3>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col">Aliases</th>
                    <th scope="col">Links</th>
                  </tr>
                </thead>
                <tbody>
                  {g.versions.map((v) => (
                    <tr key={v.id}>
                      <td>
                        <a href={href('model', v.modelName)}>{v.label}</a>
                      </td>
                      <td>{v.aliases.join(', ')}</td>
                      <td>
                        <a href={href('lineage', v.id)} aria-label={`Lineage of ${v.label}`}>
                          lineage
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          ))}

          <h2>Deployments serving them</h2>
          {im.deployments.length === 0 ? (
            <p>No deployment serves an affected version.</p>
          ) : (
            <table className="deployments">
              <thead>
                <tr>
                  <th scope="col">Deployment</th>
                  <th scope="col">Environment</th>
                  <th scope="col">Status</th>
                  <th scope="col">Serves</th>
                  <th scope="col">Endpoint</th>
                </tr>
              </thead>
              <tbody>
                {im.deployments.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <a href={href('lineage', d.id)}>{d.label}</a>
                    </td>
                    <td>{d.environment}</td>
                    <td>{d.status}</td>
                    <td>
                      {d.modelVersion ? (
                        <>
                          {d.modelVersion.label} <StageBadge stage={d.modelVersion.stage} />
                        </>
                      ) : null}
                    </td>
                    <td>{d.endpoint}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}

          <details>
            <summary>
              Runs ({im.runs.length}) and derived data ({im.data.length})
            </summary>
            <h3>Runs</h3>
            <ul>
              {im.runs.map((r) => (
                <li key={r.id}>
                  <a href={href('lineage', r.id)}>{r.label}</a>
                </li>
              ))}
            </ul>
            <h3>Derived data</h3>
            <ul>
              {im.data.map((n) => (
                <li key={n.id}>
                  <a href={href('lineage', n.id)}>{n.label}</a> <span className="muted">{kindLabel(n.kind)}</span>
                </li>
              ))}
            </ul>
          </details>
        </>
      ) : null}
    </section>
  );
}
