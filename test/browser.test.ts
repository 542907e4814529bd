import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { canRunBrowser, collectPageErrors, launchBrowser, screenshot } from './helpers/browser.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { imageBytes } from './helpers/multipart.js';
import { startSimulator } from './helpers/simulator.js';
import type { SegmindSimulator } from '../src/segmind/simulator/index.js';

// Jobs long enough to watch the progress bar move and to reload mid-way, short enough for a quick suite.
const PROCESSING_MS = 4000;

describe.skipIf(!hasPostgres || !canRunBrowser)('the web page in a real browser', () => {
  let database: TestDatabase;
  let simulator: SegmindSimulator;
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    database = await createTestDatabase();
    const sim = await startSimulator({ processingMs: PROCESSING_MS });
    simulator = sim.simulator;
    // A Segmind key is set (the simulator's), so the development key the page uses must be asked for; its budget
    // is raised so that every video of this file fits in it.
    // Status requests as rare as in a real run: Segmind's expected 100 s puts the first at the longest interval, 3 s
    // here, while the simulator is already processing.
    t = await startTestApp({
      DATABASE_URL: database.url,
      ...sim.env,
      DEVELOPMENT_KEY: 'on',
      DEVELOPMENT_KEY_DAILY_BUDGET_USD: '1000',
      SEGMIND_POLL_MIN_MS: '1000',
      SEGMIND_POLL_MAX_MS: '3000',
    });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await simulator?.stop();
    await database?.drop();
  });

  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    pageErrors = collectPageErrors(page);
  });

  afterEach(async () => {
    await context.close();
    expect(pageErrors).toEqual([]);
  });

  const developmentKey = () => {
    const key = t.app.developmentKey;
    if (!key) throw new Error('the test server has no development key');
    return key;
  };

  /** Fills the form with a 4-second video and submits it; returns the generation id from the address. */
  async function submit(prompt: string): Promise<string> {
    await page.fill('#prompt', prompt);
    await page.selectOption('#durationSeconds', '4');
    await page.click('#submit');
    await page.waitForFunction(() => /^#[0-9a-f-]{36}$/.test(location.hash));
    return page.evaluate(() => location.hash.slice(1));
  }

  const statusText = () => page.textContent('#current-status');

  async function expectVideoPlays() {
    await page.waitForSelector('#current-video:not([hidden])', { timeout: 20_000 });
    // HAVE_ENOUGH_DATA: the browser fetched and decoded the MP4 through /videos (with Range requests).
    await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#video')!.readyState >= 4, undefined, {
      timeout: 10_000,
    });
    const video = await page.evaluate(async () => {
      const element = document.querySelector<HTMLVideoElement>('#video')!;
      element.muted = true;
      await element.play();
      // Playing, not just started: until the playhead has moved (at most 5 s).
      for (let i = 0; i < 100 && element.currentTime === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      return { duration: element.duration, currentTime: element.currentTime, width: element.videoWidth, error: element.error };
    });
    expect(video.error).toBeNull();
    expect(video.duration).toBeGreaterThan(1);
    expect(video.currentTime).toBeGreaterThan(0);
    expect(video.width).toBeGreaterThan(0);
  }

  it('shows the price, then a progress bar that advances, then plays the finished video inline', async () => {
    await page.goto(t.url);
    // A loopback development server hands the page its own key: nothing to set up.
    await expect.poll(() => page.textContent('#key-status')).toContain("development server's own key");
    await page.fill('#prompt', 'A paper boat sails across a puddle after the rain');
    await page.selectOption('#durationSeconds', '4');
    await expect.poll(() => page.textContent('#submit')).toBe('Generate video for $0.60');
    await page.uncheck('#generateAudio');
    await expect.poll(() => page.textContent('#submit')).toBe('Generate video for $0.40');
    await page.check('#generateAudio');
    await expect.poll(() => page.textContent('#submit')).toBe('Generate video for $0.60');
    await screenshot(page, '1-form');

    await page.click('#submit');
    const seen: { status: string | null; progress: number }[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const status = await statusText();
      const progress = await page.$eval('#current-progress', (bar) => (bar as HTMLProgressElement).value).catch(() => 0);
      seen.push({ status, progress });
      if (status === 'Making your video' && progress > 0 && !seen.some((s) => s.status === 'screenshot')) {
        await screenshot(page, '2-in-progress');
        seen.push({ status: 'screenshot', progress });
      }
      if (status === 'Ready') break;
      await page.waitForTimeout(100);
    }
    const midway = seen.filter((s) => s.status !== 'screenshot' && s.progress > 0 && s.progress < 1).map((s) => s.progress);
    // The bar moved through several values on the way, never backwards.
    expect(new Set(midway).size).toBeGreaterThanOrEqual(3);
    expect(midway).toEqual([...midway].sort((a, b) => a - b));
    // Also before the first status request's answer (which makes it "Making your video"): the bar does not wait.
    const beforeFirstAnswer = seen.filter((s) => s.status === 'Sent to the model' && s.progress > 0);
    expect(new Set(beforeFirstAnswer.map((s) => s.progress)).size).toBeGreaterThanOrEqual(2);
    expect(seen.map((s) => s.status)).toContain('Making your video');
    expect(seen.at(-1)?.status).toBe('Ready');
    expect(await page.textContent('#current-eta')).toBe('');

    await expectVideoPlays();
    const timeline = await page.locator('#timeline li').allTextContents();
    expect(timeline[0]).toContain('Accepted and queued.');
    expect(timeline.at(-1)).toContain('The video is ready.');
    const href = await page.getAttribute('#download', 'href');
    expect(href).toMatch(/^\/videos\/[0-9a-f-]{36}\.mp4\?/);
    const download = await fetch(new URL(href!, t.url));
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('video/mp4');
    // The recent list follows live: the new generation is at the top, finished.
    await expect.poll(() => page.textContent('#recent li:first-child .badge')).toBe('Ready');
    await screenshot(page, '3-succeeded');
  });

  it('shows a failed generation as its typed error in plain words', async () => {
    await page.goto(t.url);
    await submit('[sim:fail] a scene the model refuses');
    await page.waitForSelector('#current-error:not([hidden])', { timeout: 20_000 });
    expect(await statusText()).toBe('Failed');
    const error = await page.textContent('#current-error');
    expect(error).toContain('The model refused this prompt or image for safety reasons. Nothing was charged.');
    expect(error).toContain('CONTENT_BLOCKED');
    expect(await page.isVisible('#current-video')).toBe(false);
    expect(await page.isVisible('#cancel')).toBe(false);
    await screenshot(page, '4-failed');
  });

  it('explains a refused input next to its field and queues nothing', async () => {
    await page.goto(t.url);
    await page.fill('#prompt', 'A lighthouse at dusk');
    await page.fill('#lastFrame', 'https://example.com/last.png');
    await page.click('#submit');
    await page.waitForSelector('#lastFrame-error:not([hidden])');
    expect(await page.textContent('#lastFrame-error')).toContain('A last frame needs a first frame');
    expect(await page.getAttribute('#lastFrame', 'aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('lastFrame');
    expect(await page.evaluate(() => location.hash)).toBe('');
    await screenshot(page, '5-input-error');
  });

  it('uploads a first frame chosen as a file and generates from it', async () => {
    await page.goto(t.url);
    await page.setInputFiles('#imageFile', { name: 'first.png', mimeType: 'image/png', buffer: Buffer.from(imageBytes('png')) });
    const id = await submit('The still comes alive: leaves start to move');
    await expect.poll(statusText, { timeout: 20_000 }).toBe('Ready');
    const stored = await database.sql`select image from generations where id = ${id}`;
    // The upload went to Segmind's asset storage; the generation refers to it by URL.
    expect(stored[0]?.image).toMatch(new RegExp(`^${simulator.url}/`));
    const asset = await fetch(stored[0]!.image as string);
    expect(Buffer.from(await asset.arrayBuffer())).toEqual(Buffer.from(imageBytes('png')));
  });

  it('cancels a running generation after asking, and says so', async () => {
    await page.goto(t.url);
    await submit('[sim:slow] A glacier calving into the sea');
    await expect.poll(statusText, { timeout: 10_000 }).toBe('Making your video');
    let question = '';
    page.once('dialog', (dialog) => {
      question = dialog.message();
      void dialog.accept();
    });
    await page.click('#cancel');
    await expect.poll(statusText, { timeout: 10_000 }).toBe('Canceled');
    expect(question).toContain('may still be charged');
    expect(await page.textContent('#current-error')).toContain('This generation was canceled.');
    expect(await page.isVisible('#cancel')).toBe(false);
  });

  it('resumes a running generation after a reload, with its whole timeline', async () => {
    await page.goto(t.url);
    const id = await submit('A hot air balloon drifts over a foggy valley');
    await expect.poll(statusText, { timeout: 10_000 }).toBe('Making your video');
    await page.reload();
    // The address carries the id: the page shows the same generation, still running, and follows it again.
    await expect.poll(() => page.textContent('#current-id')).toBe(`id ${id}`);
    const afterReload = await statusText();
    expect(['Sent to the model', 'Making your video', 'Saving the video']).toContain(afterReload);
    expect(await page.$eval('#current-progress', (bar) => (bar as HTMLProgressElement).value)).toBeGreaterThan(0);
    await screenshot(page, '6-resumed-after-reload');
    await expect.poll(statusText, { timeout: 20_000 }).toBe('Ready');
    await expectVideoPlays();
    const timeline = await page.locator('#timeline li').allTextContents();
    expect(timeline[0]).toContain('Accepted and queued.');
    expect(timeline.at(-1)).toContain('The video is ready.');
  });

  it('keeps a key entered once in the browser and shows only that key\'s generations', async () => {
    await page.goto(t.url);
    // The test helper's key is another key than the development one: its list starts empty.
    await page.click('#key-section summary');
    await page.fill('#api-key', t.key);
    await page.click('#key-form button[type="submit"]');
    await expect.poll(() => page.textContent('#key-status')).toContain('saved in this browser');
    await expect.poll(() => page.isVisible('#recent-empty')).toBe(true);
    await page.reload();
    expect(await page.evaluate(() => localStorage.getItem('reelql.apiKey'))).toBe(t.key);
    await expect.poll(() => page.textContent('#key-status')).toContain(t.key.slice(0, 12));

    await page.click('#key-section summary');
    await page.fill('#api-key', 'rql_not-a-real-key');
    await page.click('#key-form button[type="submit"]');
    await expect.poll(() => page.textContent('#key-status')).toContain('was not accepted');
  });

  it('works at phone width and with the keyboard alone, every control labelled', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(t.url);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLInputElement>('input, select, textarea')]
        .filter((control) => control.type !== 'hidden' && (control.labels?.length ?? 0) === 0)
        .map((control) => control.id || control.name),
    );
    expect(unlabelled).toEqual([]);
    // Nothing wider than the screen: no sideways scrolling on a phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await page.focus('#prompt');
    await page.keyboard.type('A cat naps in a sunbeam');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('negativePrompt');
    // Enter in a text field submits the form, as on any web form.
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => location.hash), { timeout: 10_000 }).toMatch(/^#[0-9a-f-]{36}$/);
    await expect.poll(statusText, { timeout: 20_000 }).toBe('Ready');
    await page.waitForSelector('#current-video:not([hidden])');
    await screenshot(page, '7-phone-width');
  });

  it('serves GraphiQL without a CDN and runs the generationStatus subscription in it', async () => {
    const created = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${developmentKey()}` },
      body: JSON.stringify({
        query: 'mutation { generateVideo(input: { prompt: "A kite over the dunes", durationSeconds: 4 }) { ... on GenerateVideoSuccess { generation { id } } } }',
      }),
    }).then((response) => response.json() as Promise<{ data: { generateVideo: { generation: { id: string } } } }>);
    const id = created.data.generateVideo.generation.id;
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(t.url) && !/^(data|blob):/.test(request.url())) external.push(request.url());
    });
    // Opened plainly, GraphiQL holds the example operations: generate, watch, list.
    await page.goto(`${t.url}/graphql`);
    await page.waitForSelector('.graphiql-execute-button');
    // One tab each; the simulator's switches only where the server uses the simulator itself (not here).
    const tabs = (await page.locator('.graphiql-tab').allInnerTexts()).map((tab) => tab.trim());
    expect(tabs).toEqual(['Generate', 'Watch', 'Recent']);
    const query = `subscription Watch { generationStatus(id: "${id}") { status progress video { sizeBytes } } }`;
    await page.goto(`${t.url}/graphql?query=${encodeURIComponent(query)}`);
    await page.waitForSelector('.graphiql-execute-button');
    await page.click('.graphiql-execute-button');
    await expect.poll(() => page.locator('.graphiql-response').innerText(), { timeout: 20_000 }).toContain('SUCCEEDED');
    await screenshot(page, '8-graphiql-subscription');
    expect(external).toEqual([]);
  });
});
