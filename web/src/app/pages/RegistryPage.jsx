// #/models: every registered model with its latest version, its Production
// version and its aliases.
import { useQuery } from '../api.js';
import { href } from '../router.js';
import { ErrorBox, GraphiQLLink, Loading, StageBadge } from '../ui.jsx';
import { formatTime } from '../registry/logic.js';
import { MODELS } from '../registry/queries.js';
import '../registry/registry.css';

export function RegistryPage() {
  const { data, error, loading, reload } = useQuery(MODELS, {});
  const models = data?.models?.nodes;
  return (
    <div className="registry">
      <div className="page-head">
        <h1>Model registry</h1>
        <div className="page-actions">
          <GraphiQLLink query={MODELS} />
        </div>
      </div>
      {error ? <ErrorBox error={error} onRetry={reload} /> : null}
      {!models && loading ? <Loading what="Loading models" /> : null}
      {models && models.length === 0 ? <p className="muted">No models registered yet.</p> : null}
      {models && models.length > 0 ? (
        <table className="models">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Latest version</th>
              <th scope="col">Production</th>
              <th scope="col">Staging</th>
              <th scope="col">Aliases</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => {
              const latest = m.versions.nodes[0];
              const prod = m.latestVersions.find((v) => v.stage === 'PRODUCTION');
              const staging = m.latestVersions.find((v) => v.stage === 'STAGING');
              return (
                <tr key={m.id} data-model={m.name}>
                  <td>
                    <a href={href('model', m.name)}>{m.name}</a>
                    {m.description ? <div className="muted">{m.description}</div> : null}
                  </td>
                  <td>
                    {latest ? (
                      <a href={href('model', m.name, { version: latest.version })}>
                        v{latest.version} <StageBadge stage={latest.stage} />
                      </a>
                    ) : (
                      <span className="muted">no versions</span>
                    )}
                  </td>
                  <td>{prod ? <a href={href('model', m.name, { version: prod.version })}>v{prod.version}</a> : '—'}</td>
                  <td>{staging ? <a href={href('model', m.name, { version: staging.version })}>v{staging.version}</a> : '—'}</td>
                  <td>
                    <span className="aliases">
                      {m.aliases.map((a) => (
                        <span className="alias" key={a.alias}>
                          {a.alias} → v{a.version}
                        </span>
                      ))}
                    </span>
                  </td>
                  <td>{formatTime(m.updatedAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {data?.models?.pageInfo?.hasNextPage ? <p className="muted">Showing the first 200 models.</p> : null}
    </div>
  );
}
