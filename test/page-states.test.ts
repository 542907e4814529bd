import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { canRunBrowser, collectPageErrors, launchBrowser, screenshot } from './helpers/browser.js';
import { createKey, createTestDatabase, dbOf, hasPostgres, type TestDatabase } from './helpers/database.js';

/**
 * Every state of the page at desktop and phone width, on a server in simulator mode (no Segmind key), as a
 * newcomer sees it: a screenshot of each in test-results/screenshots/ and the layout facts asserted.
 */
const WIDTHS = [1280, 390] as const;
const PROCESSING_MS = 2000;
const BAD_KEY = 'rql_not-a-real-key';

describe.skipIf(!hasPostgres || !canRunBrowser)('the page in every state, at 1280 px and 390 px', () => {
  let database: TestDatabase;
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startTestApp({ DATABASE_URL: database.url, SIMULATOR_PROCESSING_MS: String(PROCESSING_MS) });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await database?.drop();
  });

  /** A page at `width`; `key` is put in the browser's storage first (else the development key is used). */
  async function open(width: number, key?: string): Promise<{ page: Page; context: BrowserContext; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    if (key) await context.addInitScript((saved) => localStorage.setItem('reelql.apiKey', saved), key);
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(t.url);
    // Priced once the page has talked to the server (a refused key gets no price).
    await expect.poll(() => page.evaluate(() => document.querySelector('#key-status')?.textContent)).toBeTruthy();
    if (key !== BAD_KEY) await expect.poll(() => page.textContent('#submit')).toMatch(/\$\d/);
    // A refused key opens the key section above the form once the page hears back: wait for that layout
    // shift, as a person would see it, so a click is not aimed at where the button was.
    else await expect.poll(() => page.textContent('#key-status'), { timeout: 10_000 }).toContain('was not accepted');
    return { page, context, errors };
  }

  /** Layout facts that hold in every state: nothing touches, nothing is clipped, nothing sideways. */
  async function expectClean(page: Page, width: number) {
    const facts = await page.evaluate(() => {
      const box = (selector: string) => document.querySelector(selector)!.getBoundingClientRect();
      const recent = box('.recent');
      const cards = [...document.querySelectorAll('.layout > .card')].map((card) => card.getBoundingClientRect());
      const refresh = box('#refresh');
      const firstRow = document.querySelector('#recent li');
      // A select's text is clipped when it is wider than the room left of the arrow.
      const clippedSelects = [...document.querySelectorAll('select')].flatMap((select) => {
        const style = getComputedStyle(select);
        const probe = document.createElement('span');
        probe.style.font = style.font;
        probe.style.whiteSpace = 'pre';
        probe.textContent = select.selectedOptions[0]?.textContent ?? '';
        document.body.append(probe);
        const textWidth = probe.getBoundingClientRect().width;
        probe.remove();
        const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
        return textWidth > room ? [`${select.id}: "${probe.textContent}" needs ${Math.ceil(textWidth)} px, has ${Math.floor(room)}`] : [];
      });
      return {
        gapAboveRecent: recent.top - Math.max(...cards.map((card) => card.bottom)),
        refreshToDivider: firstRow ? firstRow.getBoundingClientRect().top - refresh.bottom : null,
        clippedSelects,
        pageWidth: document.documentElement.scrollWidth,
        prices: (document.body.innerText.match(/\$\d+\.\d\d/g) ?? []).length,
      };
    });
    expect(facts.gapAboveRecent, 'space between the cards and Recent generations').toBeGreaterThanOrEqual(8);
    if (facts.refreshToDivider !== null) expect(facts.refreshToDivider, 'space under Refresh').toBeGreaterThanOrEqual(6);
    expect(facts.clippedSelects).toEqual([]);
    expect(facts.pageWidth).toBeLessThanOrEqual(width);
  }

  async function submit(page: Page, prompt: string): Promise<void> {
    await page.fill('#prompt', prompt);
    await page.selectOption('#durationSeconds', '4');
    await page.click('#submit');
  }

  for (const width of WIDTHS) {
    it(`at ${width} px: the empty form shows the price once and says what the simulator does`, async () => {
      const { page, context, errors } = await open(width);
      await expectClean(page, width);
      // The price is on the button only, not repeated beside it.
      const form = await page.locator('#generate-form').innerText();
      expect(form.match(/\$\d+\.\d\d/g)).toEqual(['$1.20']);
      const banner = await page.locator('#simulator-banner').innerText();
      expect(banner).toContain('[sim:fail]');
      expect(banner).toContain('test clip of the asked length and size');
      // Nothing promises what the simulator does not do.
      const text = await page.locator('body').innerText();
      expect(text).not.toContain('minute and a half');
      expect(text).not.toContain('1080p video with sound');
      expect(await page.locator('#current-empty').innerText()).toMatch(/about 2 s/);
      await screenshot(page, `form-${width}`);
      await context.close();
      expect(errors).toEqual([]);
    });

    it(`at ${width} px: every input error shows at once, by the form's labels, in full-width lines`, async () => {
      const { page, context, errors } = await open(width);
      await page.fill('#prompt', 'A lighthouse at dusk');
      await page.fill('#seed', '-5');
      await page.fill('#image', 'not a url');
      await page.fill('#lastFrame', 'ftp://example.com/last.png');
      await page.click('#submit');
      await page.waitForSelector('#seed-error:not([hidden])');
      const shown = await page.$$eval('.field-error:not([hidden])', (notes) =>
        notes.map((note) => ({ id: note.id, text: note.textContent ?? '', lines: Math.round(note.getBoundingClientRect().height / parseFloat(getComputedStyle(note).lineHeight)) })),
      );
      expect(shown.map((note) => note.id).sort()).toEqual(['image-error', 'lastFrame-error', 'seed-error']);
      for (const note of shown) {
        // The API's names (`lastFrame`, a sentence starting `seed must…`) are not what the form calls its fields.
        expect(note.text).not.toMatch(/\b(lastFrame|lastFrameFile|imageFile)\b|^(image|seed|prompt)\b/);
        expect(note.text).toMatch(/^[A-Z]/);
        expect(note.lines, note.text).toBeLessThanOrEqual(width < 500 ? 3 : 2);
      }
      for (const id of ['seed', 'image', 'lastFrame']) expect(await page.getAttribute(`#${id}`, 'aria-invalid')).toBe('true');
      expect(await page.evaluate(() => location.hash)).toBe('');
      await expectClean(page, width);
      await screenshot(page, `input-errors-${width}`);
      await context.close();
      expect(errors).toEqual([]);
    });

    it(`at ${width} px: the rules only the server checks also show all at once, in the form's words`, async () => {
      const { page, context, errors } = await open(width);
      await page.fill('#prompt', 'A lighthouse at dusk');
      await page.fill('#image', 'https://user:secret@example.com/first.png');
      await page.fill('#lastFrame', `https://example.com/${'x'.repeat(2050)}.png`);
      await page.click('#submit');
      await page.waitForSelector('#lastFrame-error:not([hidden])');
      expect(await page.textContent('#image-error')).toBe('The first frame must not contain a user name or password.');
      expect(await page.textContent('#lastFrame-error')).toMatch(/^The last frame must be at most 2048 characters long/);
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('image');
      await expectClean(page, width);
      await screenshot(page, `server-input-errors-${width}`);
      await context.close();
      expect(errors).toEqual([]);
    });

    it(`at ${width} px: a video in progress, then finished, with the recent list apart from the cards`, async () => {
      const { page, context, errors } = await open(width);
      await submit(page, `A paper boat at ${width} px`);
      await expect.poll(() => page.textContent('#current-status'), { timeout: 10_000 }).toBe('Making your video');
      await expectClean(page, width);
      await screenshot(page, `in-progress-${width}`);
      await expect.poll(() => page.textContent('#current-status'), { timeout: 15_000 }).toBe('Ready');
      await page.waitForSelector('#recent li');
      await expectClean(page, width);
      await screenshot(page, `succeeded-${width}`);
      await context.close();
      expect(errors).toEqual([]);
    });

    it(`at ${width} px: a failed video says why once`, async () => {
      const { page, context, errors } = await open(width);
      await submit(page, '[sim:fail] a scene the model refuses');
      await page.waitForSelector('#current-error:not([hidden])', { timeout: 15_000 });
      const box = await page.locator('#current-error').innerText();
      expect(box).toContain('CONTENT_BLOCKED');
      // The model's own words are in the timeline; the box explains them, it does not repeat them.
      const panelText = await page.locator('#current').innerText();
      expect(panelText.split('Support codes').length - 1).toBe(1);
      await expectClean(page, width);
      await screenshot(page, `failed-${width}`);
      await context.close();
      expect(errors).toEqual([]);
    });

    it(`at ${width} px: a budget refusal gives the reset time once`, async () => {
      const { key } = await createKey(dbOf(database), { dailyBudgetUsd: 0.5 });
      const { page, context, errors } = await open(width, key);
      await page.fill('#prompt', 'A long expensive shot');
      await page.click('#submit');
      await page.waitForSelector('#form-error:not([hidden])');
      const text = await page.locator('#form-error').innerText();
      expect(text).toContain('daily budget');
      expect(text.match(/reset/gi)).toHaveLength(1);
      await expectClean(page, width);
      await screenshot(page, `budget-exceeded-${width}`);
      await context.close();
      expect(errors).toEqual([]);
    });

    it(`at ${width} px: the key's spend and budget come from viewer and follow a generation`, async () => {
      const { key } = await createKey(dbOf(database), { dailyBudgetUsd: 2, maxActive: 3 });
      const { page, context, errors } = await open(width, key);
      await expect.poll(() => page.textContent('#spend')).toBe('Spent $0.00 of $2.00 today · 0 of 3 running');
      await page.fill('#prompt', 'A heron waits in the reeds');
      await page.click('#submit');
      // The default video is 8 s with sound: $1.20, counted from the moment it is admitted.
      await expect.poll(() => page.textContent('#spend')).toBe('Spent $1.20 of $2.00 today · 1 of 3 running');
      await expect.poll(() => page.textContent('#spend'), { timeout: 20_000 }).toBe('Spent $1.20 of $2.00 today · 0 of 3 running');
      await expectClean(page, width);
      await screenshot(page, `spend-${width}`);
      await context.close();
      expect(errors).toEqual([]);
    });

    it(`at ${width} px: a wrong key says so once, without the message in brackets`, async () => {
      const { page, context, errors } = await open(width, BAD_KEY);
      await page.fill('#prompt', 'A cat naps in a sunbeam');
      await page.click('#submit');
      await page.waitForSelector('#form-error:not([hidden])');
      const text = await page.locator('#form-error').innerText();
      expect(text).toContain('API key');
      expect(text).not.toContain('(');
      await expect.poll(() => page.textContent('#key-status')).toContain('was not accepted');
      // It points to the key field where that field is: below the message.
      const [status, field] = await Promise.all([page.locator('#key-status').boundingBox(), page.locator('#api-key').boundingBox()]);
      expect(field!.y).toBeGreaterThan(status!.y);
      expect(await page.textContent('#key-status')).toContain('Enter a valid key below.');
      await screenshot(page, `wrong-key-${width}`);
      await context.close();
      expect(errors.filter((error) => !error.includes('401'))).toEqual([]);
    });
  }

  it('opens GraphiQL with short example tabs, the simulator switches and the Watch tab holding the latest id', async () => {
    const { page, context, errors } = await open(1280);
    await submit(page, 'A kite over the dunes');
    await page.waitForFunction(() => /^#[0-9a-f-]{36}$/.test(location.hash));
    const latest = await page.evaluate(() => location.hash.slice(1));
    await page.goto(`${t.url}/graphql`);
    await page.waitForSelector('.graphiql-execute-button');
    const tabs = await page.locator('.graphiql-tab').allInnerTexts();
    expect(tabs.map((tab) => tab.trim())).toEqual(['Generate', 'Watch', 'Recent', 'TryAFailure']);
    // GraphiQL's tabs are draggable: a pointer click starts a drag, so they are clicked as a keyboard would.
    const openTab = (title: string) => page.$eval(`button[title="${title}"]`, (tab) => (tab as HTMLButtonElement).click());
    await openTab('TryAFailure');
    await expect.poll(() => page.locator('.graphiql-query-editor').innerText()).toContain('[sim:fail]');
    await screenshot(page, 'graphiql-simulator-switches-1280');
    // The editor renders spaces as no-break spaces.
    const editorText = async () => (await page.locator('.graphiql-query-editor').innerText()).replace(/\u00a0/g, ' ');
    // No example line runs past the editor's edge (GraphiQL does not wrap them).
    for (const [title, operation] of [['Generate', 'mutation Generate'], ['Recent', 'query Recent'], ['TryAFailure', 'mutation TryAFailure'], ['Watch', 'subscription Watch']]) {
      await openTab(title!);
      await expect.poll(editorText).toContain(operation);
      const overflow = await page.$eval('.graphiql-query-editor', (editor) => {
        const lines = [...editor.querySelectorAll<HTMLElement>('.view-line > span')];
        return { widest: Math.max(...lines.map((line) => line.getBoundingClientRect().right)), edge: editor.getBoundingClientRect().right - 60 };
      });
      expect(overflow.widest, `${title}: the longest line ends at ${overflow.widest} px, the editor at ${overflow.edge}`).toBeLessThanOrEqual(overflow.edge);
    }
    // Put the cursor in the operation, as a person does before running it.
    await page.locator('.graphiql-query-editor .view-line', { hasText: 'subscription' }).click();
    await page.click('.graphiql-execute-button');
    await expect.poll(() => page.locator('.graphiql-response').innerText(), { timeout: 15_000 }).toContain('SUCCEEDED');
    const variables = await page.locator('.graphiql-editor-tool').innerText();
    expect(variables.replace(/\u00a0/g, ' ')).toContain(`"id": "${latest}"`);
    await screenshot(page, 'graphiql-watch-1280');
    // On a phone the response goes under the editors instead of beside them as a sliver.
    await page.setViewportSize({ width: 390, height: 844 });
    const stacked = await page.evaluate(() => {
      const editors = document.querySelector('.graphiql-editors')!.getBoundingClientRect();
      const response = document.querySelector('.graphiql-response')!.getBoundingClientRect();
      return { responseTop: response.top, editorsBottom: editors.bottom, responseWidth: response.width };
    });
    expect(stacked.responseTop).toBeGreaterThanOrEqual(stacked.editorsBottom);
    expect(stacked.responseWidth).toBeGreaterThan(250);
    await screenshot(page, 'graphiql-watch-390');
    await context.close();
    expect(errors).toEqual([]);
  });
});
