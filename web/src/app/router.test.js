import { describe, expect, it } from 'vitest';
import { href, parse } from './router.js';

describe('hash routes', () => {
  it('round-trips a view, an ID with slashes and colons, and a query', () => {
    const h = href('lineage', 'modelversion:churn/3', { depth: 4, dir: '' });
    expect(h).toBe('#/lineage/modelversion:churn/3?depth=4');
    const r = parse(h);
    expect(r.view).toBe('lineage');
    expect(r.id).toBe('modelversion:churn/3');
    expect(r.query.get('depth')).toBe('4');
  });
  it('escapes what would break the hash', () => {
    const id = 'dataset:a b?c#d';
    expect(parse(href('lineage', id)).id).toBe(id);
  });
  it('treats an empty hash as home', () => {
    expect(parse('').view).toBe('');
    expect(parse('#/').view).toBe('');
  });
});
