/**
 * GraphiQL's example tabs: make a video, watch it, list them, and try the simulator's failures. Lines stay within
 * 48 characters: GraphiQL's editor does not wrap, and at 1280 px its pane shows about 50.
 */
export const MAX_EXAMPLE_LINE = 48;

const GENERATE = `# Ask for a video: the answer comes at once,
# QUEUED. To follow it, put its id in the
# Watch tab's variables.
mutation Generate {
  generateVideo(input: {
    prompt: "A paper boat sails across a puddle"
    durationSeconds: 4
  }) {
    __typename
    ... on GenerateVideoSuccess {
      generation {
        id
        status
        provider
        cost { amount currency }
      }
    }
    ... on Error { message }
    ... on InputError { field }
  }
}
`;

const watch = (latestId: string | undefined) => `# Follows one generation live until it is done.
${
  latestId
    ? // GraphiQL keeps its tabs in the browser, so this id stays the one of the first visit.
      '# The variables below hold your latest one\n# when GraphiQL first opened in this browser;\n# for a newer one, put its id from Generate\n# or Recent there.'
    : '# Put an id from Generate or Recent into\n# the variables below.'
}
subscription Watch($id: ID!) {
  generationStatus(id: $id) {
    status
    progress
    etaSeconds
    video { url sizeBytes }
    error { code message }
  }
}
`;

const RECENT = `# Your newest generations, newest first.
query Recent {
  generations(first: 10) {
    nodes {
      id
      status
      prompt
      createdAt
      video { url }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

/** The simulator's switches: words in the prompt that choose how its job ends. */
export const SIMULATOR_SWITCHES = `# The built-in simulator (no SEGMIND_API_KEY)
# reads switches from the prompt:
#   [sim:fail]  ends FAILED, CONTENT_BLOCKED,
#               like a safety block; free
#   [sim:slow]  takes ten times as long,
#               time enough to cancel it
# Run this, then put its id in Watch.
mutation TryAFailure {
  generateVideo(input: {
    prompt: "[sim:fail] A scene it refuses"
    durationSeconds: 4
  }) {
    __typename
    ... on GenerateVideoSuccess {
      generation { id status }
    }
    ... on Error { message }
  }
}
`;

export interface GraphiqlTab {
  query: string;
  variables?: string;
  headers?: string;
}

/** The tabs GraphiQL opens with (when the browser has none saved); `latestId` pre-fills the Watch tab. */
export function graphiqlTabs(options: { latestId?: string; simulator: boolean; headers?: string }): GraphiqlTab[] {
  const tabs: GraphiqlTab[] = [
    { query: GENERATE },
    { query: watch(options.latestId), variables: JSON.stringify({ id: options.latestId ?? 'paste-an-id' }, null, 2) },
    { query: RECENT },
    ...(options.simulator ? [{ query: SIMULATOR_SWITCHES }] : []),
  ];
  return options.headers ? tabs.map((tab) => ({ ...tab, headers: options.headers })) : tabs;
}
