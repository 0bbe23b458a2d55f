// Reference data as admins write it (accounts, entities, FX rates): the checks of firestore.rules and of
// the backend's chart, run in the browser first so each imported row is answered with what to fix.

import { ACCOUNT_TYPES as CORE_ACCOUNT_TYPES, type AccountType } from './standardMetrics';

export const ACCOUNT_TYPES: AccountType[] = [...CORE_ACCOUNT_TYPES];
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CURRENCY = /^[A-Z]{3}$/;
const PERIOD = /^[0-9]{4}-(0[1-9]|1[0-2])$/;
const RATE = /^[0-9]{1,12}([.][0-9]{1,12})?$/;

export function idProblem(value: string, what: string): string | null {
  if (!value) return `${what} is missing`;
  if (!ID.test(value)) return `${what} "${value.slice(0, 40)}" must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`;
  if (value.includes('__')) return `${what} "${value}" must not contain "__"`;
  return null;
}

export function nameProblem(value: string): string | null {
  if (!value.trim()) return 'the name is missing';
  return value.length > 200 ? 'the name is over 200 characters' : null;
}

/** Tags as typed: separated by spaces, commas or semicolons. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).map((t) => t.trim()).filter(Boolean))];
}

export function tagsProblem(tags: string[]): string | null {
  if (tags.length > 20) return `${tags.length} tags; at most 20`;
  const bad = tags.find((t) => !TAG.test(t));
  return bad ? `tag "${bad.slice(0, 40)}" must be 1-64 letters, digits, '.', '_' or '-'` : null;
}

export interface AccountInput { id: string; name: string; type: string; parent_id: string | null; tags: string[] }
export interface EntityInput { id: string; name: string; currency: string; parent_id: string | null }

export function accountProblem(a: AccountInput): string | null {
  return idProblem(a.id, 'account_id') ?? nameProblem(a.name)
    ?? (ACCOUNT_TYPES.includes(a.type as AccountType) ? null : `type "${a.type}" is not one of ${ACCOUNT_TYPES.join(', ')}`)
    ?? (a.parent_id ? (a.parent_id === a.id ? 'an account cannot be its own parent' : idProblem(a.parent_id, 'parent_id')) : null)
    ?? tagsProblem(a.tags);
}

export function entityProblem(e: EntityInput): string | null {
  return idProblem(e.id, 'entity_id') ?? nameProblem(e.name)
    ?? (CURRENCY.test(e.currency) ? null : `currency "${e.currency}" is not an ISO 4217 code such as USD`)
    ?? (e.parent_id ? (e.parent_id === e.id ? 'an entity cannot be its own parent' : idProblem(e.parent_id, 'parent_id')) : null);
}

export function periodProblem(period: string): string | null {
  return PERIOD.test(period) ? null : `period "${period}" must be a fiscal month YYYY-MM`;
}

export function rateProblem(currency: string, rate: string): string | null {
  if (!CURRENCY.test(currency)) return `currency "${currency}" is not an ISO 4217 code such as EUR`;
  if (!RATE.test(rate)) return `rate "${rate}" must be a positive decimal such as 1.08 (at most 12 digits each side, no sign or exponent)`;
  return /[1-9]/.test(rate) ? null : 'a rate of zero converts every amount to zero';
}

/**
 * Parents that are missing or that make a cycle, for a set of nodes (id -> parent). The backend refuses
 * a chart with a cycle for every event of the org, so such rows are never written.
 */
export function parentProblems(parents: Map<string, string | null>): Map<string, string> {
  const problems = new Map<string, string>();
  for (const [id, parent] of parents) {
    if (parent && !parents.has(parent)) problems.set(id, `parent "${parent}" is neither in the file nor in the organisation`);
  }
  for (const start of parents.keys()) {
    const seen: string[] = [];
    let node: string | null | undefined = start;
    while (node && parents.has(node) && !seen.includes(node)) {
      seen.push(node);
      node = parents.get(node);
    }
    if (node && seen.includes(node)) {
      const cycle = seen.slice(seen.indexOf(node));
      for (const id of cycle) if (!problems.has(id)) problems.set(id, `parents make a cycle: ${[...cycle, node].join(' -> ')}`);
    }
  }
  return problems;
}

/** The cells of an imported row in one of several accepted column names. */
export function cell(cells: Record<string, string>, ...names: string[]): string {
  for (const name of names) if (cells[name] !== undefined) return cells[name].trim();
  return '';
}
