import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { test } from 'node:test';
import { waitFor } from '@clover/testkit';

/** Debian's Chromium; playwright-core drives it, nothing is downloaded. */
export const chromiumPath = process.env.CLOVER_CHROMIUM ?? '/usr/bin/chromium';

export const screenshotDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Errors the page threw or logged (failed requests the test provoked are expected there). */
  errors: string[];
}

/** A fresh context (own cookies and localStorage) at the console's size: 1280 wide. */
export async function openConsolePage(browser: Browser, baseUrl: string): Promise<ConsolePage> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return { context, page, errors };
}

/** Saves `<name>.png` under e2e/screenshots/ (git-ignored) and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export async function textOf(l: Locator): Promise<string> {
  return ((await l.textContent()) ?? '').trim();
}

/** Waits until the locator's text matches (playwright-core has no expect()); returns the text. */
export async function waitForText(l: Locator, want: string | RegExp, timeoutMs = 15_000): Promise<string> {
  let last = '';
  await waitFor(
    async () => {
      last = (await l.count()) ? await textOf(l.first()) : '';
      return typeof want === 'string' ? last.includes(want) : want.test(last);
    },
    { timeoutMs, message: `text ${String(want)} (last seen: "${last}")` },
  );
  return last;
}

export async function waitForCount(l: Locator, n: number, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await l.count()) === n, { timeoutMs, message: `${n} × ${String(l)}` });
}

/**
 * How far the page reaches past the window's right edge, in CSS pixels (0: no sideways scrolling),
 * and the widest element that sticks out, to name in a failure.
 */
export async function horizontalOverflow(page: Page): Promise<{ px: number; culprit: string }> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    let culprit = '';
    let right = width;
    for (const el of Array.from(document.querySelectorAll('body *'))) {
      const r = el.getBoundingClientRect();
      if (r.right > right + 0.5) {
        right = r.right;
        culprit = `${el.tagName.toLowerCase()}${el.getAttribute('data-testid') ? `[data-testid=${el.getAttribute('data-testid')}]` : ''}.${el.className}`;
      }
    }
    return { px: Math.max(0, document.documentElement.scrollWidth - width), culprit };
  });
}

/**
 * `step(name, fn)`: one test that leaves `<prefix><name>.png` behind whether it passes or not;
 * `page()` is undefined while there is no page to photograph (a before hook that failed).
 */
export function screenshotSteps(page: () => Page | undefined, prefix = '', timeoutMs = 45_000) {
  return (name: string, fn: () => Promise<void>): void => {
    test(name, { timeout: timeoutMs }, async () => {
      try {
        await fn();
      } finally {
        const p = page();
        if (p) await screenshot(p, `${prefix}${name}`).catch(() => {});
      }
    });
  };
}
