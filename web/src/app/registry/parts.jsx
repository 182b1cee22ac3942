// Sections of the model page: a version's lineage summary and artifact,
// deployments, the audit trail, and the diff of two versions.
import { useQuery } from '../api.js';
import { href } from '../router.js';
import { ErrorBox, Loading, StageBadge } from '../ui.jsx';
import { auditTrail, formatBytes, formatTime } from './logic.js';
import { DIFF, VERSION } from './queries.js';

function NodeLink({ node }) {
  if (!node) return <span className="muted">—</span>;
  return <a href={href('lineage', node.id)}>{node.label}</a>;
}

// VersionDetails: producing run, code, environment, inputs and the artifact.
export function VersionDetails({ model, version }) {
  const { data, error, loading, reload } = useQuery(VERSION, { model, version });
  const mv = data?.modelVersion;
  return (
    <section aria-labelledby="version-details" className="card">
      <h2 id="version-details">
        {model} v{version} {mv ? <StageBadge stage={mv.stage} /> : null}
      </h2>
      {error ? <ErrorBox error={error} onRetry={reload} /> : null}
      {!mv && loading ? <Loading what={`Loading v${version}`} /> : null}
      {mv ? (
        <div className="details">
          {mv.description ? <p className="description">{mv.description}</p> : null}
          <p>
            <a href={href('lineage', mv.id)}>Open the lineage of {mv.label}</a>
          </p>
          <h3>Lineage summary</h3>
          <dl className="kv">
            <dt>Produced by run</dt>
            <dd>
              {mv.run ? (
                <>
                  <NodeLink node={mv.run} /> <span className="muted">({mv.run.status}, experiment {mv.run.experimentName})</span>
                </>
              ) : (
                '—'
              )}
            </dd>
            <dt>Code</dt>
            <dd>
              <NodeLink node={mv.reproduction?.code} />
            </dd>
            <dt>Environment</dt>
            <dd>
              <NodeLink node={mv.reproduction?.environment} />
            </dd>
            <dt>Framework</dt>
            <dd>{mv.framework || '—'}</dd>
          </dl>
          <table className="inputs">
            <caption>Data and features used</caption>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Input</th>
                <th scope="col">Digest</th>
              </tr>
            </thead>
            <tbody>
              {(mv.reproduction?.inputs || []).map((inp) => (
                <tr key={inp.node.id + inp.role}>
                  <td>{inp.role || <span className="muted">(indirect)</span>}</td>
                  <td>
                    <NodeLink node={inp.node} /> <span className="muted">{inp.node.kind.toLowerCase().replace(/_/g, ' ')}</span>
                  </td>
                  <td className="mono">{inp.digest}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Artifact</h3>
          <dl className="kv">
            <dt>URI</dt>
            <dd className="mono">{mv.artifact.uri}</dd>
            <dt>Digest</dt>
            <dd className="mono">{mv.artifact.digest || 'unknown'}</dd>
            <dt>Size</dt>
            <dd>{formatBytes(mv.artifact.size)}</dd>
            <dt>Verified</dt>
            <dd>{mv.artifact.verified ? 'yes: stored and digested by this server' : 'no: external reference, never fetched'}</dd>
            <dt>Download</dt>
            <dd>
              {mv.artifact.downloadUrl && mv.artifact.downloadUrl.startsWith('/') ? (
                <a href={mv.artifact.downloadUrl} download>
                  {mv.artifact.downloadUrl}
                </a>
              ) : (
                <span className="muted">not stored here</span>
              )}
            </dd>
          </dl>
        </div>
      ) : null}
    </section>
  );
}

export function Deployments({ versions }) {
  const rows = versions.flatMap((v) => v.deployments.map((d) => ({ ...d, version: v.version })));
  return (
    <section aria-labelledby="deployments" className="card">
      <h2 id="deployments">Deployments</h2>
      {rows.length === 0 ? (
        <p className="muted">No deployments recorded.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Environment</th>
              <th scope="col">Status</th>
              <th scope="col">Decommission requested</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id}>
                <td>v{d.version}</td>
                <td>{d.environment}</td>
                <td>
                  <span className={`badge deploy-${d.status.toLowerCase()}`}>{d.status}</span>
                  {d.message ? <span className="muted"> {d.message}</span> : null}
                </td>
                <td>{d.decommissionRequested ? 'yes' : 'no'}</td>
                <td className="mono">{d.endpoint || '—'}</td>
                <td>{formatTime(d.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function AuditTrail({ versions }) {
  const trail = auditTrail(versions);
  return (
    <section aria-labelledby="audit" className="card">
      <h2 id="audit">Audit trail</h2>
      {trail.length === 0 ? (
        <p className="muted">No stage changes yet.</p>
      ) : (
        <table className="audit">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Version</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Actor</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {trail.map((t, i) => (
              <tr key={`${t.version}-${t.at}-${i}`}>
                <td>
                  <time dateTime={t.at}>{formatTime(t.at)}</time>
                </td>
                <td>v{t.version}</td>
                <td>
                  <StageBadge stage={t.from} />
                </td>
                <td>
                  <StageBadge stage={t.to} />
                </td>
                <td>{t.actor}</td>
                <td className="reason">{t.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ChangeTable({ caption, changes }) {
  return (
    <table className="diff">
      <caption>{caption}</caption>
      <tbody>
        {changes.length === 0 ? (
          <tr>
            <td className="muted">no changes</td>
          </tr>
        ) : (
          changes.map((c, i) => (
            <tr key={i} className={`change-${c.kind.toLowerCase()}`}>
              <td>{c.kind}</td>
              <td>{c.before ? <NodeLink node={c.before} /> : '—'}</td>
              <td aria-hidden="true">→</td>
              <td>{c.after ? <NodeLink node={c.after} /> : '—'}</td>
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}

function fmt(n) {
  return n === null || n === undefined ? '—' : String(Math.round(n * 1e6) / 1e6);
}

export function DiffView({ model, from, to }) {
  const { data, error, loading, reload } = useQuery(DIFF, { model, from, to });
  const d = data?.diffModelVersions;
  return (
    <section aria-labelledby="diff" className="card">
      <h2 id="diff">
        What changed from v{from} to v{to}
      </h2>
      {error ? <ErrorBox error={error} onRetry={reload} /> : null}
      {!d && loading ? <Loading what="Comparing" /> : null}
      {d ? (
        <div className="diff-grid">
          <p>
            Runs: <NodeLink node={d.fromRun} /> → <NodeLink node={d.toRun} />
          </p>
          <ChangeTable caption="Data" changes={d.data} />
          <ChangeTable caption="Features" changes={d.features} />
          <ChangeTable caption="Code" changes={d.code} />
          <table className="diff">
            <caption>Packages</caption>
            <tbody>
              {d.environment.length === 0 ? (
                <tr>
                  <td className="muted">no changes</td>
                </tr>
              ) : (
                d.environment.map((p) => (
                  <tr key={p.name} className={`change-${p.kind.toLowerCase()}`}>
                    <td>{p.kind}</td>
                    <td>{p.name}</td>
                    <td>{p.before || '—'}</td>
                    <td aria-hidden="true">→</td>
                    <td>{p.after || '—'}</td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
          <table className="diff">
            <caption>Params</caption>
            <tbody>
              {d.params.length === 0 ? (
                <tr>
                  <td className="muted">no changes</td>
                </tr>
              ) : (
                d.params.map((p) => (
                  <tr key={p.key} className={`change-${p.kind.toLowerCase()}`}>
                    <td>{p.kind}</td>
                    <td>{p.key}</td>
                    <td>{p.before ?? '—'}</td>
                    <td aria-hidden="true">→</td>
                    <td>{p.after ?? '—'}</td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
          <table className="diff">
            <caption>Metrics (last values)</caption>
            <thead>
              <tr>
                <th scope="col">Metric</th>
                <th scope="col">v{from}</th>
                <th scope="col">v{to}</th>
                <th scope="col">Δ</th>
              </tr>
            </thead>
            <tbody>
              {d.metrics.map((m) => (
                <tr key={m.key}>
                  <td>{m.key}</td>
                  <td>{fmt(m.before)}</td>
                  <td>{fmt(m.after)}</td>
                  <td className={m.delta > 0 ? 'up' : m.delta < 0 ? 'down' : ''}>
                    {m.delta === null || m.delta === undefined ? '—' : (m.delta > 0 ? '+' : '') + fmt(m.delta)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
