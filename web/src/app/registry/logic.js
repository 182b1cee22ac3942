// Pure registry logic: what a stage change or a rollback will do, computed
// from the versions the page loaded (the server decides for real; these
// mirror lineage/registry.go so the confirmation can say it up front).

export const STAGES = ['NONE', 'STAGING', 'PRODUCTION', 'ARCHIVED'];

// The one-click stage changes offered on each version.
export const ACTIONS = [
  { stage: 'STAGING', label: 'Staging' },
  { stage: 'PRODUCTION', label: 'Production' },
  { stage: 'ARCHIVED', label: 'Archive' },
];

// planTransition lists every version whose stage changes when `version`
// moves to `target`: the version itself, and the current holder of the
// target stage, which the server archives (always for PRODUCTION; for
// STAGING too, since archiveExisting defaults to true).
export function planTransition(versions, version, target) {
  const self = versions.find((v) => v.version === version);
  if (!self || self.stage === target) return { moves: [], archived: [] };
  const archived =
    target === 'PRODUCTION' || target === 'STAGING'
      ? versions.filter((v) => v.stage === target && v.version !== version)
      : [];
  const moves = [
    { version, from: self.stage, to: target },
    ...archived.map((v) => ({ version: v.version, from: v.stage, to: 'ARCHIVED' })),
  ];
  return { moves, archived: target === 'ARCHIVED' ? [self] : archived };
}

// timeKey makes RFC 3339 times (with 0–9 fractional digits) sort as strings.
export function timeKey(t) {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(t || '');
  if (!m) return t || '';
  const frac = (m[2] || '.').slice(1).padEnd(9, '0');
  return `${m[1]}.${frac}${m[3]}`;
}

// auditTrail merges every version's transitions, newest first. Changes made
// in one transaction share a time; there the server archives the previous
// holder before moving the version in, so an ARCHIVED entry counts as older.
export function auditTrail(versions) {
  const all = versions.flatMap((v) => (v.transitions || []).map((t) => ({ ...t, version: v.version })));
  const order = (x) => [x.k, x.t.to === 'ARCHIVED' ? 0 : 1];
  return all
    .map((t, i) => ({ t, i, k: timeKey(t.at) }))
    .sort((a, b) => {
      const [ka, ra] = order(a);
      const [kb, rb] = order(b);
      if (ka !== kb) return ka < kb ? 1 : -1;
      return rb - ra || a.i - b.i;
    })
    .map((x) => x.t);
}


// productionHistory mirrors the server's: the versions that held PRODUCTION,
// oldest first, with rollbacks popping back to the version they restored.
export function productionHistory(versions) {
  const trail = auditTrail(versions).reverse();
  const stack = [];
  for (const t of trail) {
    if (t.to !== 'PRODUCTION') continue;
    if (t.rollback) {
      const i = stack.indexOf(t.version);
      if (i >= 0) {
        stack.length = i + 1;
        continue;
      }
    }
    stack.push(t.version);
  }
  return stack;
}

// planRollback: the current Production version (archived by the rollback)
// and the one expected back in Production (null: nothing to roll back to).
export function planRollback(versions) {
  const current = versions.find((v) => v.stage === 'PRODUCTION') || null;
  const history = productionHistory(versions);
  let restored = null;
  for (let i = history.length - 1; i >= 0 && !restored; i--) {
    const v = versions.find((x) => x.version === history[i]);
    if (v && v !== current) restored = v;
  }
  return { current, restored };
}

// stageFromConflict reads the current stage out of the server's CONFLICT
// message ("churn v2 is in ARCHIVED, not STAGING; …") when it cannot be re-read.
export function stageFromConflict(message) {
  const m = /is in ([A-Z]+), not/.exec(message || '');
  return m ? m[1] : null;
}

export function conflictText(model, version, nowStage) {
  const where = nowStage ? `it is now in ${nowStage}` : 'its stage is no longer the one shown here';
  return `Someone else changed ${model} v${version} first: ${where}. Reload to see the current state.`;
}

export function stageLabel(stage) {
  return { NONE: 'None', STAGING: 'Staging', PRODUCTION: 'Production', ARCHIVED: 'Archived' }[stage] || stage;
}

export function formatBytes(n) {
  if (n === null || n === undefined) return 'unknown';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function formatTime(t) {
  if (!t) return '';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}
