import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { act, cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { LangSwitch } from '../src/components/Layout';
import { en } from '../src/i18n/en';
import { zh } from '../src/i18n/zh';
import { LANG_STORAGE_KEY, storedLang, translate, useT } from '../src/i18n';
import { renderWithI18n } from './helpers';

afterEach(() => {
  cleanup();
  localStorage.clear();
});

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();

describe('i18n dictionaries', () => {
  it('en and zh have exactly the same keys', () => {
    const enKeys = Object.keys(en).sort();
    const zhKeys = Object.keys(zh).sort();
    expect(zhKeys.filter((k) => !(k in en))).toEqual([]);
    expect(enKeys.filter((k) => !(k in zh))).toEqual([]);
    expect(zhKeys).toEqual(enKeys);
  });

  // The cron parser's own words are English: the Chinese message says what a rule needs instead.
  const leftOutInZh: Partial<Record<keyof typeof en, string[]>> = { 'validation.cron': ['detail'] };

  it('no message is empty and both languages use the same placeholders', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(en[key].trim(), key).not.toBe('');
      expect(zh[key].trim(), key).not.toBe('');
      const left = leftOutInZh[key] ?? [];
      expect(placeholders(zh[key]), key).toEqual(placeholders(en[key]).filter((p) => !left.includes(p)));
    }
  });

  it('zh is actually translated (most messages differ from English)', () => {
    const keys = Object.keys(en) as (keyof typeof en)[];
    const same = keys.filter((k) => en[k] === zh[k]);
    expect(same.length / keys.length).toBeLessThan(0.1);
    expect(zh['nav.jobs']).toBe('任务');
  });

  it('every literal key the source code uses exists', () => {
    // vitest runs with the package directory as its root
    const root = join(process.cwd(), 'src');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.tsx?$/.test(name) && !p.includes(join('src', 'i18n'))) files.push(p);
      }
    };
    walk(root);
    const used = new Set<string>();
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([\w.]+)'/g)) used.add(m[1]!);
      for (const m of text.matchAll(/'((?:nav|form\.error|status|dashboard)\.[\w.]+)'/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(100);
    expect([...used].filter((k) => !(k in en))).toEqual([]);
  });

  it('fills placeholders', () => {
    expect(translate('en', 'time.ago', { d: '5s' })).toBe('5s ago');
    expect(translate('zh', 'time.ago', { d: '5秒' })).toBe('5秒前');
    expect(translate('en', 'confirm.typeToConfirm', { text: '/clover/x' })).toBe('Type /clover/x to confirm');
  });
});

describe('language switch', () => {
  function Heading() {
    const t = useT();
    return <h1>{t('jobs.title')}</h1>;
  }

  it('switches to 中文, persists the choice and restores it', () => {
    renderWithI18n(
      <>
        <Heading />
        <LangSwitch />
      </>,
    );
    expect(screen.getByRole('heading').textContent).toBe('Jobs');
    act(() => {
      fireEvent.click(screen.getByTestId('lang-zh'));
    });
    expect(screen.getByRole('heading').textContent).toBe('任务');
    expect(localStorage.getItem(LANG_STORAGE_KEY)).toBe('zh');
    expect(storedLang()).toBe('zh');
    expect(document.documentElement.lang).toBe('zh-CN');
    act(() => {
      fireEvent.click(screen.getByTestId('lang-en'));
    });
    expect(screen.getByRole('heading').textContent).toBe('Jobs');
    expect(storedLang()).toBe('en');
  });
});
