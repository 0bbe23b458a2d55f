// @vitest-environment node
import { describe, expect, it } from 'vitest';

import { accountChunks, mergePage, MAX_IN_VALUES } from '../src/components/DrillDown';

/** What one Firestore query of a chunk answers: its records after the cursor, in document-id order, `size` at most. */
function answer(records: { id: string; account: string }[], accounts: string[], cursor: string | null, size: number) {
  return records.filter((r) => (accounts.length === 0 || accounts.includes(r.account)) && (cursor === null || r.id > cursor))
    .sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, size);
}

describe('drill-down over more accounts than one `in` takes', () => {
  it('splits the accounts into groups of at most 30, keeping every one once', () => {
    const accounts = Array.from({ length: 73 }, (_, i) => `6${String(i).padStart(3, '0')}`);
    const chunks = accountChunks(accounts);
    expect(chunks.map((c) => c.length)).toEqual([30, 30, 13]);
    expect(chunks.flat()).toEqual(accounts);
    expect(chunks.every((c) => c.length <= MAX_IN_VALUES)).toBe(true);
    expect(accountChunks([])).toEqual([[]]);
  });

  it('pages through the union exactly: every record once, in document-id order, whatever the accounts', () => {
    let seed = 7;
    const random = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
    const accounts = Array.from({ length: 65 }, (_, i) => `7${String(i).padStart(3, '0')}`);
    const records = Array.from({ length: 240 }, (_, i) => ({
      id: `r${Math.floor(random() * 1e9).toString(36)}-${i}`, account: accounts[Math.floor(random() * accounts.length)],
    }));
    records.push({ id: 'other-line', account: '4100' });
    const size = 26;
    const chunks = accountChunks(accounts);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page = mergePage(chunks.map((chunk) => answer(records, chunk, cursor, size)), size);
      const shown = page.slice(0, size - 1);
      seen.push(...shown.map((r) => r.id));
      if (page.length < size) break;
      cursor = shown[shown.length - 1].id;
    }
    const expected = records.filter((r) => accounts.includes(r.account)).map((r) => r.id).sort();
    expect(seen).toEqual(expected);
  });
});
