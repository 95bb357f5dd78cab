import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { RUN_STATUSES } from '../src/api/types';
import { StatusBadge } from '../src/components/ui';
import { en } from '../src/i18n/en';
import { zh } from '../src/i18n/zh';
import { renderWithI18n, fakeTimersPerTest } from './helpers';

fakeTimersPerTest();

describe('run statuses', () => {
  it('every status of the model has a label in both languages', () => {
    for (const s of RUN_STATUSES) {
      expect(en, s).toHaveProperty([`status.${s}`]);
      expect(zh, s).toHaveProperty([`status.${s}`]);
    }
  });

  it("waiting is a status of its own between scheduled and dispatched, badged as a warning, in the runs page's filter order", () => {
    expect(RUN_STATUSES.slice(0, 3)).toEqual(['scheduled', 'waiting', 'dispatched']);
    renderWithI18n(
      <>
        <StatusBadge status="waiting" />
        <StatusBadge status="dispatched" />
      </>,
    );
    const waiting = screen.getByText('waiting');
    expect(waiting.getAttribute('data-status')).toBe('waiting');
    expect(waiting.className).toBe('badge badge-warn');
    expect(screen.getByText('dispatched').className).toBe('badge badge-busy');
  });

  it('says waiting in Chinese', () => {
    renderWithI18n(<StatusBadge status="waiting" />, 'zh');
    expect(screen.getByText('等待中').getAttribute('data-status')).toBe('waiting');
  });
});
