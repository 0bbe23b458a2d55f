import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';

import { LiveView } from '../src/components/States';
import { describeError, type Live } from '../src/hooks/live';

afterEach(cleanup);

function show(live: Live<string[]>) {
  render(<LiveView live={live} what="the alerts" empty="No active alerts.">{(list) => <p>{list.join(',')}</p>}</LiveView>);
}

describe('LiveView', () => {
  it('shows loading, empty, data', () => {
    show({ status: 'loading' });
    expect(screen.getByRole('status').textContent).toBe('Loading the alerts…');
    cleanup();
    show({ status: 'ready', data: [], receivedAt: 0 });
    expect(screen.getByText('No active alerts.')).toBeTruthy();
    cleanup();
    show({ status: 'ready', data: ['a', 'b'], receivedAt: 0 });
    expect(screen.getByText('a,b')).toBeTruthy();
  });

  it('says "access removed" when a listener is denied, and shows other errors', () => {
    const denied = describeError({ code: 'permission-denied', message: 'x' } as never);
    expect(denied).toEqual({ status: 'denied' });
    show(denied as Live<string[]>);
    expect(screen.getByRole('alert').textContent).toMatch(/^Access removed/);
    cleanup();
    show(describeError({ code: 'unavailable', message: 'offline' } as never) as Live<string[]>);
    expect(screen.getByRole('alert').textContent).toBe('Could not load the alerts: unavailable: offline');
  });
});
