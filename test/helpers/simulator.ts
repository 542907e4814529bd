import { createSegmindSimulator, type SegmindSimulator, type SegmindSimulatorOptions } from '../../src/segmind/simulator/index.js';

/** Starts a real simulator on loopback and returns it with the env that points an app at it. */
export async function startSimulator(
  options: SegmindSimulatorOptions = {},
): Promise<{ simulator: SegmindSimulator; env: Record<string, string> }> {
  const simulator = createSegmindSimulator({ processingMs: 300, ...options });
  const url = await simulator.start();
  return {
    simulator,
    env: {
      SEGMIND_BASE_URL: url,
      SEGMIND_API_KEY: options.apiKey ?? 'sim-key',
      SEGMIND_UPLOAD_URL: `${url}/upload-asset`,
      // Results come from the simulator on loopback over plain http: allowed only because its host and port are listed.
      SEGMIND_OUTPUT_HOSTS: new URL(url).host,
    },
  };
}
