// The confirmation of a stage change or a rollback: asks for a reason, says
// what will be archived, then calls the mutation as a compare-and-swap on
// the stage the user saw. A CONFLICT is explained, with a Reload button.
import { useEffect, useId, useRef, useState } from 'react';
import { gql } from '../api.js';
import { StageBadge } from '../ui.jsx';
import { conflictText, planRollback, planTransition, stageFromConflict, stageLabel } from './logic.js';
import { CURRENT_PRODUCTION, CURRENT_STAGE, ROLLBACK, TRANSITION } from './queries.js';

const focusable = 'button:not([disabled]), textarea:not([disabled]), input:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';

// request: { kind: 'transition', version, to } or { kind: 'rollback' }.
export function StageDialog({ model, versions, request, onCancel, onDone, onReload }) {
  const titleId = useId();
  const reasonId = useId();
  const hintId = useId();
  const box = useRef(null);
  const reasonRef = useRef(null);
  const [reason, setReason] = useState('');
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState(null); // { conflict: bool, text } or an Error

  // Focus the reason on open; give focus back to the opener on close.
  useEffect(() => {
    const opener = document.activeElement;
    reasonRef.current?.focus();
    return () => {
      if (opener && opener.isConnected && !opener.disabled && typeof opener.focus === 'function') opener.focus();
    };
  }, []);

  const isRollback = request.kind === 'rollback';
  const self = isRollback ? null : versions.find((v) => v.version === request.version);
  const seen = self?.stage; // the stage the user saw: expectedStage
  const plan = isRollback ? null : planTransition(versions, request.version, request.to);
  const rb = isRollback ? planRollback(versions) : null;
  const title = isRollback
    ? `Roll back ${model}`
    : `Move ${model} v${request.version} to ${stageLabel(request.to)}`;

  function onKeyDown(e) {
    if (e.key === 'Escape') {
      e.stopPropagation();
      if (!busy) onCancel();
      return;
    }
    if (e.key !== 'Tab' || !box.current) return;
    const items = [...box.current.querySelectorAll(focusable)];
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && (document.activeElement === first || !box.current.contains(document.activeElement))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (document.activeElement === last || !box.current.contains(document.activeElement))) {
      e.preventDefault();
      first.focus();
    }
  }

  async function explainConflict(err) {
    if (isRollback) return { conflict: true, text: err.message };
    let now = null;
    try {
      const d = await gql(CURRENT_STAGE, { model, version: request.version });
      now = d.modelVersion?.stage || null;
    } catch {
      now = stageFromConflict(err.message);
    }
    return { conflict: true, text: conflictText(model, request.version, now) };
  }

  async function confirm(e) {
    e.preventDefault();
    if (!reason.trim()) {
      setMissing(true);
      reasonRef.current?.focus();
      return;
    }
    setBusy(true);
    setFailure(null);
    try {
      let result;
      if (isRollback) {
        // rollbackModel has no expectedStage: check the Production version is
        // still the one the user saw, so a race is explained rather than rolled.
        const d = await gql(CURRENT_PRODUCTION, { model });
        const now = d.model?.version?.version ?? null;
        const saw = rb.current?.version ?? null;
        if (now !== saw) {
          const text = `Someone else changed ${model} first: ${
            now === null ? 'no version is in PRODUCTION now' : `v${now} is now in PRODUCTION`
          }${saw === null ? '' : `, not v${saw}`}. Reload to see the current state.`;
          setFailure({ conflict: true, text });
          setBusy(false);
          return;
        }
        result = (await gql(ROLLBACK, { input: { model, reason: reason.trim() } })).rollbackModel;
      } else {
        result = (
          await gql(TRANSITION, {
            input: { model, version: request.version, stage: request.to, expectedStage: seen, reason: reason.trim() },
          })
        ).transitionModelVersionStage;
      }
      onDone(result);
    } catch (err) {
      setFailure(err.code === 'CONFLICT' ? await explainConflict(err) : err);
      setBusy(false);
    }
  }

  return (
    <div className="modal-backdrop">
      <div
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        ref={box}
        onKeyDown={onKeyDown}
      >
        <form onSubmit={confirm} noValidate>
          <h2 id={titleId}>{title}</h2>
          {isRollback ? (
            <ul className="plan">
              <li>
                {rb.current ? (
                  <>
                    v{rb.current.version} (now <StageBadge stage="PRODUCTION" />) will be <strong>archived</strong>.
                  </>
                ) : (
                  'No version is in Production now.'
                )}
              </li>
              <li>
                {rb.restored ? (
                  <>
                    v{rb.restored.version} (now <StageBadge stage={rb.restored.stage} />) is expected back in{' '}
                    <strong>Production</strong>, the previous Production version.
                  </>
                ) : (
                  'There is no earlier Production version: the server will refuse the rollback.'
                )}
              </li>
            </ul>
          ) : (
            <ul className="plan">
              {plan.moves.map((m) => (
                <li key={m.version}>
                  v{m.version}: <StageBadge stage={m.from} /> → <StageBadge stage={m.to} />
                  {m.version !== request.version ? ` (archived: it is the current ${stageLabel(m.from)} version)` : ''}
                </li>
              ))}
              {plan.archived.length === 0 ? <li>Nothing else will be archived.</li> : null}
            </ul>
          )}
          {!isRollback ? (
            <p className="hint">
              Applies only if v{request.version} is still in <StageBadge stage={seen} /> (compare-and-swap).
            </p>
          ) : null}
          <label htmlFor={reasonId}>Reason (recorded in the audit trail)</label>
          <textarea
            id={reasonId}
            ref={reasonRef}
            rows={3}
            value={reason}
            required
            aria-required="true"
            aria-invalid={missing && !reason.trim() ? 'true' : undefined}
            aria-describedby={missing && !reason.trim() ? hintId : undefined}
            onChange={(e) => setReason(e.target.value)}
            disabled={busy}
          />
          {missing && !reason.trim() ? (
            <p id={hintId} className="field-error">
              A reason is required.
            </p>
          ) : null}
          {failure ? (
            failure.conflict ? (
              <div className="error conflict" role="alert">
                <strong>Conflict</strong>: {failure.text}{' '}
                <button type="button" onClick={onReload}>
                  Reload
                </button>
              </div>
            ) : (
              <div className="error" role="alert">
                <strong>{failure.code || 'ERROR'}</strong>: {failure.message}
              </div>
            )
          ) : null}
          <div className="modal-actions">
            <button type="button" onClick={onCancel} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy || failure?.conflict}>
              {busy ? 'Working…' : isRollback ? 'Roll back' : `Move to ${stageLabel(request.to)}`}
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
