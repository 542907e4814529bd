/**
 * node's parseArgs explains a refusal in terms of its own API ("argument is ambiguous", "place it after '--'");
 * these say what to type instead. Shared by the command-line tools.
 */
export function flagProblem(error: unknown, allowedFlags: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(--?[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `Unknown flag ${flag ?? 'given'}. Allowed flags: ${allowedFlags}.`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    if (message.includes('does not take an argument')) return `${flag} takes no value.`;
    return `${flag} needs a value after it (write ${flag}=VALUE for a value that starts with "-").`;
  }
  return message;
}
