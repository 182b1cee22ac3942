import { describe, expect, it } from 'vitest';
import { auditTrail, conflictText, planRollback, planTransition, productionHistory, stageFromConflict, timeKey } from './logic.js';

const t = (from, to, at, reason = '') => ({ from, to, at, reason, actor: 'demo', rollback: reason.startsWith('rollback') });

// The demo's churn: v1 Production, v2 promoted over it, then rolled back.
const demo = () => [
  {
    version: 2,
    stage: 'ARCHIVED',
    transitions: [
      t('NONE', 'STAGING', '2026-01-01T00:00:03Z'),
      t('STAGING', 'PRODUCTION', '2026-01-01T00:00:04Z'),
      t('PRODUCTION', 'ARCHIVED', '2026-01-01T00:00:05Z', 'rollback: regression'),
    ],
  },
  {
    version: 1,
    stage: 'PRODUCTION',
    transitions: [
      t('NONE', 'STAGING', '2026-01-01T00:00:01Z'),
      t('STAGING', 'PRODUCTION', '2026-01-01T00:00:02Z'),
      t('PRODUCTION', 'ARCHIVED', '2026-01-01T00:00:04Z', 'archived by the promotion of v2'),
      t('ARCHIVED', 'PRODUCTION', '2026-01-01T00:00:05Z', 'rollback: regression'),
    ],
  },
];

describe('what a stage change archives', () => {
  it('promoting to Production archives the current Production version', () => {
    const vs = [
      { version: 3, stage: 'STAGING' },
      { version: 2, stage: 'PRODUCTION' },
      { version: 1, stage: 'ARCHIVED' },
    ];
    const p = planTransition(vs, 3, 'PRODUCTION');
    expect(p.archived.map((v) => v.version)).toEqual([2]);
    expect(p.moves).toEqual([
      { version: 3, from: 'STAGING', to: 'PRODUCTION' },
      { version: 2, from: 'PRODUCTION', to: 'ARCHIVED' },
    ]);
  });
  it('promoting to Staging archives the current Staging version (archiveExisting defaults to true)', () => {
    const vs = [
      { version: 3, stage: 'NONE' },
      { version: 2, stage: 'STAGING' },
    ];
    expect(planTransition(vs, 3, 'STAGING').archived.map((v) => v.version)).toEqual([2]);
  });
  it('archiving a version archives only that version', () => {
    const vs = [
      { version: 2, stage: 'PRODUCTION' },
      { version: 1, stage: 'STAGING' },
    ];
    const p = planTransition(vs, 1, 'ARCHIVED');
    expect(p.archived.map((v) => v.version)).toEqual([1]);
    expect(p.moves).toEqual([{ version: 1, from: 'STAGING', to: 'ARCHIVED' }]);
  });
  it('promoting when nothing holds the stage archives nothing', () => {
    expect(planTransition([{ version: 1, stage: 'NONE' }], 1, 'PRODUCTION').archived).toEqual([]);
  });
  it('moving to the current stage changes nothing', () => {
    expect(planTransition([{ version: 1, stage: 'PRODUCTION' }], 1, 'PRODUCTION').moves).toEqual([]);
  });
});

describe('rollback plan', () => {
  it('follows the Production history, popping rolled-back versions', () => {
    expect(productionHistory(demo())).toEqual([1]);
    // v1 in Production after the rollback: nothing earlier to go back to.
    expect(planRollback(demo())).toEqual({ current: demo()[1], restored: null });
  });
  it('after v2 is promoted again, a rollback restores v1 and archives v2', () => {
    const vs = demo();
    vs[0].stage = 'PRODUCTION';
    vs[0].transitions.push(t('ARCHIVED', 'PRODUCTION', '2026-01-01T00:00:06Z', 'fixed'));
    vs[1].stage = 'STAGING';
    vs[1].transitions.push(t('PRODUCTION', 'ARCHIVED', '2026-01-01T00:00:06Z', 'archived by the promotion of v2'));
    vs[1].transitions.push(t('ARCHIVED', 'STAGING', '2026-01-01T00:00:07Z', 'shadow'));
    const p = planRollback(vs);
    expect(p.current.version).toBe(2);
    expect(p.restored.version).toBe(1);
  });
});

describe('audit trail', () => {
  it('merges versions newest first, ordering fractional seconds of any length', () => {
    expect(timeKey('2026-01-01T00:00:06.9416Z') < timeKey('2026-01-01T00:00:06.94167Z')).toBe(true);
    const trail = auditTrail(demo());
    expect(trail[0].at).toBe('2026-01-01T00:00:05Z');
    expect(trail[trail.length - 1]).toMatchObject({ version: 1, to: 'STAGING' });
  });
});

describe('conflicts', () => {
  it('explains who won the race and what to do', () => {
    expect(conflictText('churn', 3, 'STAGING')).toBe(
      'Someone else changed churn v3 first: it is now in STAGING. Reload to see the current state.',
    );
    expect(stageFromConflict('expectedStage: churn v2 is in ARCHIVED, not STAGING; someone else changed it first')).toBe(
      'ARCHIVED',
    );
  });
});

describe('audit trail ties', () => {
  it('shows a promotion above the archive it caused in the same transaction', () => {
    const at = '2026-01-01T00:00:09Z';
    const trail = auditTrail([
      { version: 1, transitions: [t('PRODUCTION', 'ARCHIVED', at, 'archived by the promotion of v2')] },
      { version: 2, transitions: [t('STAGING', 'PRODUCTION', at, 'better')] },
    ]);
    expect(trail.map((e) => e.version)).toEqual([2, 1]);
  });
});
