import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../logger.js';
import { createSegmindSimulator, type SegmindSimulator } from './index.js';

/**
 * The built-in simulator of `npm start` without a Segmind key. Its jobs and its port are kept in
 * `<dataDir>/simulator/`, so a restarted server finds the jobs it sent and the result URLs it stored: request
 * ids, output URLs and the download allowlist (host:port) all stay valid. The first start takes a free port;
 * later starts ask for the same one, and take another (saying so) only when it is in use.
 */
export async function startEmbeddedSimulator(options: {
  dataDir: string;
  processingMs: number;
  /** FFMPEG_PATH, for the clips; unset → the bundled binary. */
  ffmpegPath?: string | undefined;
  log: Logger;
}): Promise<SegmindSimulator> {
  const directory = path.join(options.dataDir, 'simulator');
  const portFile = path.join(directory, 'port');
  const create = (port: number) =>
    createSegmindSimulator({
      processingMs: options.processingMs,
      port,
      stateDir: path.join(directory, 'jobs'),
      ...(options.ffmpegPath && { ffmpegPath: options.ffmpegPath }),
      warn: (message) => options.log.warn(message),
    });
  const remembered = await readPort(portFile);
  if (remembered !== undefined) {
    const simulator = create(remembered);
    try {
      await simulator.start();
      return simulator;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      options.log.warn(
        'the built-in simulator’s port is in use: it takes another, and videos it finished before the restart but not yet copied fail to download',
        { port: remembered },
      );
    }
  }
  const simulator = create(0);
  await simulator.start();
  await mkdir(directory, { recursive: true });
  const temporary = `${portFile}.${process.pid}.tmp`;
  await writeFile(temporary, `${new URL(simulator.url).port}\n`);
  await rename(temporary, portFile);
  return simulator;
}

async function readPort(file: string): Promise<number | undefined> {
  try {
    const port = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
