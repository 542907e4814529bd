/** What the story tests send: a story with every field they read, its shots with theirs. */
export const STORY_FIELDS = `
  id status version progress etaSeconds seed
  cost { amount }
  error { code message retryable }
  video { url contentType sizeBytes }
  shots { id status prompt durationSeconds image costIsFinal cost { amount } error { code message } events { type message } }
  createdAt completedAt
`;

export const GENERATE_STORY = `mutation ($input: GenerateStoryInput!) {
  generateStory(input: $input) {
    __typename
    ... on GenerateStorySuccess { story { ${STORY_FIELDS} } }
    ... on Error { message }
    ... on InputError { field problems { field message } }
  }
}`;

export const GET_STORY = `query ($id: ID!) { story(id: $id) { ${STORY_FIELDS} } }`;

export const WATCH_STORY = `subscription ($id: ID!) { storyStatus(id: $id) { id status version progress cost { amount } } }`;

/** Shots of `seconds` each, with prompts that say which shot they are (and any simulator switches given). */
export const shots = (count: number, seconds = 4, switches: Record<number, string> = {}) =>
  Array.from({ length: count }, (_, i) => ({ prompt: `shot ${i + 1} ${switches[i] ?? ''}`.trim(), durationSeconds: seconds }));
