/** What the command needs from its process: streams, the working directory and Ctrl-C. */
export interface Terminal {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  /** stdout is a terminal: one progress line redrawn in place, instead of a line per change. */
  tty: boolean;
  cwd: string;
  /** Makes `handler` the answer to Ctrl-C (SIGINT) until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}
