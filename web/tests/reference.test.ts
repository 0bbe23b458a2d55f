import { describe, expect, it } from 'vitest';

import { accountProblem, entityProblem, parentProblems, parseTags, rateProblem } from '../src/lib/reference';

describe('reference data checks (as firestore.rules and the backend chart)', () => {
  it('answers an account row with what to fix', () => {
    const ok = { id: '4100', name: 'Product', type: 'revenue', parent_id: '4000', tags: ['recurring'] };
    expect(accountProblem(ok)).toBeNull();
    expect(accountProblem({ ...ok, type: 'income' })).toMatch(/type "income" is not one of revenue/);
    expect(accountProblem({ ...ok, id: 'a__b' })).toMatch(/must not contain "__"/);
    expect(accountProblem({ ...ok, parent_id: '4100' })).toMatch(/own parent/);
    expect(accountProblem({ ...ok, tags: ['petty cash'] })).toMatch(/tag "petty cash"/);
    expect(accountProblem({ ...ok, name: ' ' })).toMatch(/name is missing/);
    expect(parseTags('cash; current_asset cash,x')).toEqual(['cash', 'current_asset', 'x']);
  });

  it('answers entities and rates', () => {
    expect(entityProblem({ id: 'us', name: 'US', currency: 'USD', parent_id: null })).toBeNull();
    expect(entityProblem({ id: 'us', name: 'US', currency: 'usd', parent_id: null })).toMatch(/ISO 4217/);
    expect(rateProblem('EUR', '1.08')).toBeNull();
    expect(rateProblem('EUR', '1,08')).toMatch(/positive decimal/);
    expect(rateProblem('EUR', '-1')).toMatch(/positive decimal/);
    expect(rateProblem('EUR', '0.00')).toMatch(/zero/);
  });

  it('finds missing parents and cycles', () => {
    const problems = parentProblems(new Map<string, string | null>([
      ['1', null], ['2', '1'], ['3', '9'], ['a', 'b'], ['b', 'c'], ['c', 'a'],
    ]));
    expect(problems.get('3')).toMatch(/parent "9" is neither/);
    expect(problems.get('a')).toMatch(/cycle: a -> b -> c -> a/);
    expect(problems.has('1') || problems.has('2')).toBe(false);
    expect([...problems.keys()].sort()).toEqual(['3', 'a', 'b', 'c']);
  });
});
