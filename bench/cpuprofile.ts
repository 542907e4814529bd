/**
 * Turns a V8 `.cpuprofile` (from `node --cpu-prof` or the inspector) into top-N tables: self time and total
 * (inclusive) time per function, and self time per area (a package under node_modules, a file of src/, Node's
 * internals, GC). Percentages are of the busy (non-idle) time.
 *
 * As a command: `npx tsx bench/cpuprofile.ts <file.cpuprofile> [N]` prints the Markdown.
 */

import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FrameTime {
  frame: string;
  area: string;
  ms: number;
  /** Of the busy time. */
  percent: number;
}

export interface ProfileSummary {
  durationMs: number;
  busyMs: number;
  /** Busy time ÷ duration: how much of one core the main thread used. */
  busyShare: number;
  gcMs: number;
  self: FrameTime[];
  total: FrameTime[];
  /** Total time of the functions in src/ (ours), which shows which of our steps the time is spent under. */
  ours: FrameTime[];
  areas: FrameTime[];
  /** Self time with Node's internals and V8 builtins charged to the nearest package or file of ours that called them. */
  owners: FrameTime[];
  /** `owners` summed into a few layers (see {@link layerOf}). */
  layers: FrameTime[];
}

const GRAPHQL_STACK = /^(graphql|graphql-yoga|graphql-ws|@graphql-yoga\/.*|@envelop\/.*|@graphql-tools\/.*|@pothos\/.*|@escape\.tech\/.*|@whatwg-node\/.*|@repeaterjs\/.*|dset|lru-cache)$/;

/** The layer an owner belongs to, for the coarse table. */
export function layerOf(owner: string): string {
  if (owner === '(program)' || owner === '(garbage collector)') return owner;
  if (owner === 'node internals' || owner.startsWith('(')) return "Node's HTTP server, streams, timers and promise jobs with no package above them";
  if (GRAPHQL_STACK.test(owner)) return 'GraphQL server stack (graphql-yoga, envelop, graphql-tools, graphql, Pothos, whatwg-node)';
  if (owner === 'drizzle-orm') return 'drizzle-orm (query building, result mapping)';
  if (owner === 'postgres') return 'postgres.js (protocol, and the socket reads and writes it starts)';
  if (owner.startsWith('src/')) return 'reelql code (src/)';
  if (owner.startsWith('bench/')) return 'bench code';
  if (owner === 'tsx' || owner === 'esbuild') return 'tsx (TypeScript loader)';
  return 'other packages';
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Where a frame's code lives: a package, a file of ours, Node's internals, or one of V8's pseudo-frames. */
export function areaOf(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName) && !frame.url) return frame.functionName;
  const url = frame.url;
  if (!url) return '(native / V8 builtins)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first = '', second = ''] = url.slice(modules + '/node_modules/'.length).split('/');
    return first.startsWith('@') ? `${first}/${second}` : first;
  }
  const ours = /\/(src|bench|test)\/(.+)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  return url.replace(/^file:\/\//, '');
}

function frameName(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName) && !frame.url) return frame.functionName;
  const name = frame.functionName || '(anonymous)';
  const url = frame.url;
  if (!url) return `${name} (native)`;
  const area = areaOf(frame);
  const file = url.startsWith('node:') ? url : url.includes('/node_modules/') ? `${area}/…/${url.split('/').at(-1)}` : area;
  return `${name} — ${file}:${frame.lineNumber + 1}`;
}

export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // Each sample stands for the time until the next one (V8 records the delta before each sample).
  const durationUs = profile.endTime - profile.startTime;
  const average = profile.samples.length ? durationUs / profile.samples.length : 0;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const areas = new Map<string, number>();
  const areaOfName = new Map<string, string>();
  const owners = new Map<string, number>();
  const layers = new Map<string, number>();
  let idleUs = 0;
  let gcUs = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const us = profile.timeDeltas[i + 1] ?? average;
    const leaf = byId.get(profile.samples[i]!);
    if (!leaf) continue;
    const leafName = frameName(leaf.callFrame);
    if (leafName === '(idle)') {
      idleUs += us;
      continue;
    }
    if (leafName === '(garbage collector)') gcUs += us;
    self.set(leafName, (self.get(leafName) ?? 0) + us);
    const area = areaOf(leaf.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + us);
    areaOfName.set(leafName, area);
    // The owner: the innermost frame that is neither Node's internals nor a builtin.
    let owner = area;
    for (let node: ProfileNode | undefined = leaf; node; node = byId.get(parent.get(node.id) ?? -1)) {
      const candidate = areaOf(node.callFrame);
      if (candidate === 'node internals' || candidate === '(native / V8 builtins)' || candidate === '(root)') continue;
      owner = candidate;
      break;
    }
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    layers.set(layerOf(owner), (layers.get(layerOf(owner)) ?? 0) + us);
    // Inclusive time: every distinct function on the stack once (recursion is not counted twice).
    const seen = new Set<string>();
    for (let node: ProfileNode | undefined = leaf; node; node = byId.get(parent.get(node.id) ?? -1)) {
      const name = frameName(node.callFrame);
      if (name === '(root)' || seen.has(name)) continue;
      seen.add(name);
      areaOfName.set(name, areaOf(node.callFrame));
      total.set(name, (total.get(name) ?? 0) + us);
    }
  }
  const busyUs = Math.max(1, durationUs - idleUs);
  const list = (map: Map<string, number>, area: (name: string) => string) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, us]) => ({ frame, area: area(frame), ms: us / 1000, percent: (100 * us) / busyUs }));
  return {
    durationMs: durationUs / 1000,
    busyMs: busyUs / 1000,
    busyShare: busyUs / Math.max(1, durationUs),
    gcMs: gcUs / 1000,
    self: list(self, (name) => areaOfName.get(name) ?? ''),
    total: list(total, (name) => areaOfName.get(name) ?? ''),
    ours: list(
      new Map([...total].filter(([name]) => areaOfName.get(name)?.startsWith('src/'))),
      (name) => areaOfName.get(name) ?? '',
    ),
    areas: list(areas, (name) => name),
    owners: list(owners, (name) => layerOf(name)),
    layers: list(layers, (name) => name),
  };
}

/**
 * Profiles another Node process through its inspector (started with `--inspect=127.0.0.1:0`; `url` is the
 * ws://… address it prints), so a profile can cover exactly the measured window rather than start to exit.
 */
export async function connectProfiler(url: string, samplingIntervalUs = 1000) {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 0;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  socket.on('message', (data) => {
    const message = JSON.parse((data as Buffer).toString('utf8')) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = (nextId += 1);
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  return {
    start: async () => void (await send('Profiler.start')),
    async stop(): Promise<CpuProfile> {
      const { profile } = (await send('Profiler.stop')) as { profile: CpuProfile };
      return profile;
    },
    close: () => socket.close(),
  };
}

const pct = (v: number) => `${v.toFixed(1)} %`;
const cell = (text: string) => text.replaceAll('|', '\\|');

/** Markdown tables of a summary (self time, total time, self time by area). */
export function profileMarkdown(summary: ProfileSummary, title: string): string {
  const table = (rows: FrameTime[], what: string, withArea = true) => [
    `| ${what} | ${withArea ? 'area | ' : ''}ms | % of busy |`,
    `|---|${withArea ? '---|' : ''}---|---|`,
    ...rows.map((r) => `| ${cell(r.frame)} | ${withArea ? `${cell(r.area)} | ` : ''}${r.ms.toFixed(0)} | ${pct(r.percent)} |`),
  ];
  return [
    `### ${title}`,
    '',
    `Profile of ${(summary.durationMs / 1000).toFixed(1)} s; main thread busy ${(summary.busyMs / 1000).toFixed(1)} s ` +
      `(${pct(100 * summary.busyShare)} of one core), of which garbage collection ${pct((100 * summary.gcMs) / summary.busyMs)}.`,
    '',
    'Busy time by layer (Node internals and V8 builtins — socket writes, stream machinery, promise jobs — are charged ' +
      'to the nearest package or file that called them):',
    '',
    ...table(summary.layers, 'layer', false),
    '',
    'The same by package or file:',
    '',
    ...table(summary.owners, 'package or file', false),
    '',
    'Self time by area (where the sampled instruction itself was):',
    '',
    ...table(summary.areas, 'area', false),
    '',
    'Top functions by self time:',
    '',
    ...table(summary.self, 'function'),
    '',
    'Top functions by total (inclusive) time:',
    '',
    ...table(summary.total, 'function'),
    '',
    'Functions of src/ by total (inclusive) time (an async function counts each synchronous stretch it runs, ' +
      'including the query building and socket writes it starts, not the time it waits):',
    '',
    ...table(summary.ours, 'function'),
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    console.error('usage: npx tsx bench/cpuprofile.ts <file.cpuprofile> [N]');
    process.exit(2);
  }
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  console.log(profileMarkdown(summarizeProfile(profile, Number(n) || 15), file));
}
