// @vitest-environment node
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { isLoopback, parseEmulatorInit } from '../src/lib/config';

// The template the pinned firebase-tools serves as /__/firebase/init.js, filled as its Hosting
// emulator fills it (hosting/implicitInit.js): a change of the template fails here first.
const template = readFileSync(resolve(process.cwd(), '../node_modules/firebase-tools/templates/hosting/init.js'), 'utf8');

function served(emulators: unknown): string {
  return template
    .replace('/*--CONFIG--*/', `var firebaseConfig = ${JSON.stringify({ projectId: 'demo-x', apiKey: 'k' }, null, 2)};`)
    .replace('/*--EMULATORS--*/', `var firebaseEmulators = ${emulators === undefined ? 'undefined' : JSON.stringify(emulators, null, 2)};`);
}

describe('the Hosting emulator tells where the emulators are', () => {
  it('reads hosts and ports of a stack on overridden ports', () => {
    const table = {
      auth: { host: '127.0.0.1', port: 10099, hostAndPort: '127.0.0.1:10099' },
      firestore: { host: '127.0.0.1', port: 9080, hostAndPort: '127.0.0.1:9080' },
    };
    expect(parseEmulatorInit(served(table))).toEqual(table);
  });

  it('reads no emulators when none run', () => {
    expect(parseEmulatorInit(served(undefined))).toEqual({});
  });

  it('fails clearly on something else', () => {
    expect(() => parseEmulatorInit('console.log(1)')).toThrow(/did not list its emulators/);
  });

  it('treats only loopback addresses as the local stack', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '[::1]'].every(isLoopback)).toBe(true);
    expect(['finance-live.web.app', '10.0.0.1', 'example.com'].some(isLoopback)).toBe(false);
  });
});
