import { exitCodeLines } from './exit-codes.js';

export const DEFAULT_URL = 'http://localhost:4000';

/** The one line after a message about a bad value: where the full usage is. */
export const HELP_HINT = 'Run npm run generate -- --help for the options.';

export const USAGE = `Usage: npm run generate -- "<prompt>" [flags]

Turns a prompt into a video on a reelql server, shows its progress and saves the MP4.

Flags:
  --url URL                Server (env REELQL_URL; default ${DEFAULT_URL})
  --key KEY                API key (env REELQL_API_KEY). Without one, a loopback server's development
                           key is read from <DATA_DIR or .data>/development-key
  --duration 4|6|8         Seconds of video (default 8)
  --resolution 720p|1080p  (default 1080p)
  --aspect 16:9|9:16       (default 16:9)
  --no-audio               Silent video: $0.10 instead of $0.15 per second
  --negative TEXT          What the video must not show
  --seed N                 0 to 2147483647 (default: the server picks one)
  --image URL|FILE         First frame: an http(s) URL, or a local JPEG, PNG or WebP file (uploaded)
  --last-frame URL|FILE    Last frame; needs --image
  --out PATH               Where to save (default ./<generation id>.mp4; a directory gets <id>.mp4)
  --idempotency-key KEY    Running again with the same key and input follows the same generation
                           instead of paying for a second one
  -h, --help               Show this help

The price is shown before anything is submitted. Ctrl-C while waiting asks whether to cancel the
generation; a second Ctrl-C leaves it running on the server.

Exit codes:
${exitCodeLines()}`;
