import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`); `.ci/run` installs it when it is missing. */
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** Browser tests run wherever Chromium is installed, and must run in CI. */
export const canRunBrowser = existsSync(chromiumPath) || Boolean(process.env.CI);

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Where screenshots go: test-results/screenshots (kept by CI as artifacts, ignored by git). */
export const screenshotDir = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Errors the page threw or logged (refused HTTP requests excepted: some tests cause them on purpose). */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
  });
  return errors;
}
