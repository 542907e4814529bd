import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { canRunBrowser, collectPageErrors, launchBrowser, screenshot } from './helpers/browser.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './helpers/database.js';
import { startSimulator } from './helpers/simulator.js';
import type { SegmindSimulator } from '../src/segmind/simulator/index.js';

// Short jobs: a three-shot story runs its shots one after the other.
const PROCESSING_MS = 2500;

/** Posters in the list, "Continue this scene" and story mode, in Chromium against a real server and the simulator. */
describe.skipIf(!hasPostgres || !canRunBrowser)('the web page with posters, continuations and stories', () => {
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
    t = await startTestApp({
      DATABASE_URL: database.url,
      ...sim.env,
      DEVELOPMENT_KEY: 'on',
      DEVELOPMENT_KEY_DAILY_BUDGET_USD: '1000',
      SEGMIND_POLL_MIN_MS: '300',
      SEGMIND_POLL_MAX_MS: '1000',
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

  const statusText = () => page.textContent('#current-status');

  /** Makes a 4-second video from the form and waits until it is ready; returns its id. */
  async function makeVideo(prompt: string): Promise<string> {
    await page.fill('#prompt', prompt);
    await page.selectOption('#durationSeconds', '4');
    const before = await page.evaluate(() => location.hash);
    await page.click('#submit');
    await page.waitForFunction((earlier) => /^#[0-9a-f-]{36}$/.test(location.hash) && location.hash !== earlier, before);
    const id = await page.evaluate(() => location.hash.slice(1));
    await expect.poll(statusText, { timeout: 30_000 }).toBe('Ready');
    return id;
  }

  /** Whether an image element has loaded a real picture (not a broken link). */
  const imageLoaded = (selector: string) =>
    page.$eval(selector, (img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0);

  it('lists each video with its poster and the duration and size probed from the file', async () => {
    await page.goto(t.url);
    const id = await makeVideo('A red kite over a green hill');
    const row = `#recent li[data-id="${id}"]`;
    await page.waitForSelector(`${row} img.poster`, { timeout: 10_000 });
    await expect.poll(() => imageLoaded(`${row} img.poster`)).toBe(true);
    const [stored] = await database.sql`select video_duration_seconds, video_width, video_height from generations where id = ${id}`;
    const facts = `${Number(stored!.video_duration_seconds).toFixed(1)} s · ${stored!.video_width}×${stored!.video_height}`;
    expect(await page.textContent(row)).toContain(facts);
    expect(await page.textContent('#video-facts')).toContain(facts);
    // The player shows the poster before it is played.
    expect(await page.getAttribute('#video', 'poster')).toMatch(/^\/videos\//);
    await screenshot(page, 'media-1-posters');
  });

  it('continues a finished scene from its last frame', async () => {
    await page.goto(t.url);
    const first = await makeVideo('A paper boat is set on a puddle');
    await page.click('#continue');
    await page.waitForSelector('#continue-from:not([hidden])');
    expect(await page.textContent('#continue-from-prompt')).toContain('A paper boat is set on a puddle');
    await expect.poll(() => imageLoaded('#continue-from-poster')).toBe(true);
    // The first frame is the earlier video's: there is nothing else to choose.
    expect(await page.isVisible('#first-frame')).toBe(false);
    await screenshot(page, 'media-2-continue-form');

    const second = await makeVideo('The boat drifts away under a bridge');
    expect(second).not.toBe(first);
    const [row] = await database.sql`select continue_from_id, image from generations where id = ${second}`;
    expect(row!.continue_from_id).toBe(first);
    // Segmind got the earlier video's last frame, uploaded to its asset storage, as the first frame.
    const [source] = await database.sql`select last_frame_key from generations where id = ${first}`;
    expect(source!.last_frame_key).toBeTruthy();
    expect(row!.image).toMatch(new RegExp(`^${simulator.url}/`));
    expect(await page.isVisible('#continue-from')).toBe(false);
  }, 60_000);

  it('makes a story from several shots: the total price, each shot live, then the stitched film', async () => {
    await page.goto(t.url);
    await page.check('#mode-story');
    await page.waitForSelector('#story-shots-field:not([hidden])');
    expect(await page.isVisible('#prompt')).toBe(false);
    await page.fill('#shot-1-prompt', 'A paper boat is set on a puddle');
    await page.fill('#shot-2-prompt', 'It sails across the puddle');
    await page.click('#add-shot');
    await page.fill('#shot-3-prompt', 'It reaches the far edge');
    for (const n of [1, 2, 3]) await page.selectOption(`#shot-${n}-duration`, '4');
    // Three 4-second shots with sound: 3 × $0.60.
    await expect.poll(() => page.textContent('#submit')).toBe('Generate story for $1.80 (3 shots)');
    await screenshot(page, 'media-3-story-form');

    await page.click('#submit');
    await page.waitForSelector('#story:not([hidden])');
    expect(await page.evaluate(() => location.hash)).toMatch(/^#story=/);
    expect(await page.$$eval('#story-shot-list li', (items) => items.length)).toBe(3);
    // Shot 1 runs while the others wait for its last frame.
    await expect
      .poll(() => page.$eval('#story-shot-list li:first-child', (li) => li.getAttribute('data-status')), { timeout: 15_000 })
      .toMatch(/SUBMITTED|PROCESSING|STORING|SUCCEEDED/);
    expect(await page.$eval('#story-shot-list li:last-child', (li) => li.getAttribute('data-status'))).toBe('QUEUED');
    await screenshot(page, 'media-4-story-in-progress');

    await page.waitForSelector('#story-video-box:not([hidden])', { timeout: 90_000 });
    expect(await page.textContent('#story-status')).toBe('Ready');
    const statuses = await page.$$eval('#story-shot-list li', (items) => items.map((li) => li.getAttribute('data-status')));
    expect(statuses).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#story-video')!.readyState >= 1, undefined, {
      timeout: 10_000,
    });
    const film = await page.$eval('#story-video', (video) => (video as HTMLVideoElement).duration);
    const shots = await database.sql`select video_duration_seconds from generations where story_id is not null order by story_shot`;
    const sum = shots.reduce((total, shot) => total + Number(shot.video_duration_seconds), 0);
    expect(film).toBeCloseTo(sum, 0);
    expect(await page.textContent('#story-video-facts')).toContain(`${sum.toFixed(1)} s`);
    await screenshot(page, 'media-5-story-done');
  }, 120_000);
});
