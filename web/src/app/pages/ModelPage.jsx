// #/model/<name>[?version=N][&diff=A,B]: a model's versions with stage
// badges and aliases, one-click stage changes and rollback (confirmed, with
// a reason), a version's lineage summary and artifact, deployments, the
// audit trail and the diff of two versions.
import { useEffect, useRef, useState } from 'react';
import { useQuery } from '../api.js';
import { href, navigate } from '../router.js';
import { ErrorBox, GraphiQLLink, Loading, StageBadge } from '../ui.jsx';
import { ACTIONS, formatTime } from '../registry/logic.js';
import { AuditTrail, Deployments, DiffView, VersionDetails } from '../registry/parts.jsx';
import { MODEL } from '../registry/queries.js';
import { StageDialog } from '../registry/StageDialog.jsx';
import '../registry/registry.css';

function parseDiff(s) {
  const m = /^(\d+),(\d+)$/.exec(s || '');
  return m ? [Number(m[1]), Number(m[2])] : null;
}

export function ModelPage({ route }) {
  const name = route.id;
  const { data, error, loading, reload } = useQuery(MODEL, { name }, { skip: !name });
  const [dialog, setDialog] = useState(null);
  const [notice, setNotice] = useState(null);
  const [refresh, setRefresh] = useState(0);
  const noticeRef = useRef(null);

  useEffect(() => {
    if (notice) noticeRef.current?.focus();
  }, [notice]);

  if (!name) return <p role="alert">No model named in the link.</p>;
  const model = data?.model;
  if (!model) {
    return (
      <div>
        <h1>Model {name}</h1>
        {error ? <ErrorBox error={error} onRetry={reload} /> : null}
        {loading ? <Loading what={`Loading ${name}`} /> : null}
        {!loading && !error ? <p role="alert">No model named “{name}”.</p> : null}
      </div>
    );
  }

  const versions = model.versions.nodes;
  const production = versions.find((v) => v.stage === 'PRODUCTION');
  const asked = Number(route.query.get('version'));
  const selected =
    versions.find((v) => v.version === asked)?.version ?? production?.version ?? versions[0]?.version ?? null;
  const diff = parseDiff(route.query.get('diff'));

  function refreshAll(message) {
    setDialog(null);
    setNotice(message);
    setRefresh((r) => r + 1);
    reload();
  }

  function onDone(result) {
    const what =
      dialog.kind === 'rollback'
        ? `Rolled back ${name}: v${result.version} is now in ${result.stage}.`
        : `${name} v${result.version} is now in ${result.stage}.`;
    refreshAll(what);
  }

  function onDiff(e) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    navigate('model', name, { version: selected, diff: `${f.get('from')},${f.get('to')}` });
  }

  const sorted = [...versions].sort((a, b) => a.version - b.version);
  const defFrom = diff?.[0] ?? sorted[sorted.length - 2]?.version ?? sorted[0]?.version;
  const defTo = diff?.[1] ?? sorted[sorted.length - 1]?.version;

  return (
    <div className="model-page">
      <div className="page-head">
        <h1>
          Model <span className="model-name">{model.name}</span>
        </h1>
        <span className="aliases" aria-label="Aliases">
          {model.aliases.map((a) => (
            <span className="alias" key={a.alias}>
              {a.alias} → v{a.version}
            </span>
          ))}
        </span>
        <div className="page-actions">
          <button type="button" onClick={() => setDialog({ kind: 'rollback' })} disabled={!production}>
            Roll back
          </button>
          <GraphiQLLink query={MODEL} variables={{ name }} />
        </div>
      </div>
      {model.description ? <p className="description">{model.description}</p> : null}
      <p className="muted">
        <a href={href('models')}>All models</a> · automatic rollback {model.autoRollback ? 'on' : 'off'}
        {loading ? ' · refreshing…' : ''}
      </p>
      {error ? <ErrorBox error={error} onRetry={reload} /> : null}
      {notice ? (
        <p className="notice" role="status" tabIndex={-1} ref={noticeRef}>
          {notice}
        </p>
      ) : null}

      <section aria-labelledby="versions" className="card">
        <h2 id="versions">Versions</h2>
        <table className="versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Stage</th>
              <th scope="col">Aliases</th>
              <th scope="col">Registered</th>
              <th scope="col">Run</th>
              <th scope="col">Change stage</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.id} data-version={v.version} className={v.version === selected ? 'selected' : undefined}>
                <td>
                  <a
                    href={href('model', name, { version: v.version, diff: route.query.get('diff') })}
                    aria-current={v.version === selected ? 'true' : undefined}
                  >
                    v{v.version}
                  </a>
                </td>
                <td>
                  <StageBadge stage={v.stage} />
                </td>
                <td>
                  <span className="aliases">
                    {v.aliases.map((a) => (
                      <span className="alias" key={a}>
                        {a}
                      </span>
                    ))}
                  </span>
                </td>
                <td>{formatTime(v.createdAt)}</td>
                <td>{v.run ? <a href={href('lineage', v.run.id)}>{v.run.label}</a> : v.runId}</td>
                <td>
                  <div className="stage-actions">
                    {ACTIONS.map((a) => (
                      <button
                        key={a.stage}
                        type="button"
                        aria-label={`${a.label} v${v.version}`}
                        disabled={v.stage === a.stage}
                        onClick={() => setDialog({ kind: 'transition', version: v.version, to: a.stage })}
                      >
                        {a.label}
                      </button>
                    ))}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {model.versions.pageInfo.hasNextPage ? <p className="muted">Showing the newest 200 versions.</p> : null}
      </section>

      {selected !== null ? <VersionDetails key={`${selected}-${refresh}`} model={name} version={selected} /> : null}

      <section aria-labelledby="compare" className="card">
        <h2 id="compare">Compare two versions</h2>
        <form className="diff-form" onSubmit={onDiff} key={`${defFrom}-${defTo}`}>
          <VersionSelect label="From" name="from" versions={sorted} defaultValue={defFrom} />
          <VersionSelect label="To" name="to" versions={sorted} defaultValue={defTo} />
          <button type="submit">Show differences</button>
          {diff ? <a href={href('model', name, { version: selected })}>Hide</a> : null}
        </form>
      </section>
      {diff ? <DiffView model={name} from={diff[0]} to={diff[1]} /> : null}

      <Deployments versions={versions} />
      <AuditTrail versions={versions} />

      {dialog ? (
        <StageDialog
          model={name}
          versions={versions}
          request={dialog}
          onCancel={() => setDialog(null)}
          onDone={onDone}
          onReload={() => refreshAll(null)}
        />
      ) : null}
    </div>
  );
}

function VersionSelect({ label, name, versions, defaultValue }) {
  return (
    <label>
      {label}{' '}
      <select name={name} defaultValue={defaultValue}>
        {versions.map((v) => (
          <option key={v.version} value={v.version}>
            v{v.version}
          </option>
        ))}
      </select>
    </label>
  );
}
