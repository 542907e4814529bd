import { generate } from '@graphql-codegen/cli';
import type { CodegenConfig } from '@graphql-codegen/cli';

/** Where the documents every client sends live, and where their generated types go (both under src/contract/). */
export const OPERATIONS_DIR = 'src/contract/operations/';
export const GENERATED_DIR = 'src/contract/generated/';
/** One generated folder per client, so the page bundle carries only the page's documents. */
export const CLIENTS = ['cli', 'page', 'tests', 'peers'] as const;
/**
 * Which object types each union and interface may be, for caching clients that match fragments on abstract types
 * (Apollo Client's `possibleTypes`, graphcache's `possibleTypes`): without it they drop `... on Error { message }`.
 */
export const POSSIBLE_TYPES_FILE = 'possible-types.ts';

const CONFIG = {
  documentMode: 'string',
  useTypeImports: true,
  importExtension: '.js',
  enumsAsTypes: true,
  strictScalars: true,
  // Only the types the documents use (their enums and inputs), not the whole schema.
  onlyOperationTypes: true,
  // How the scalars travel in JSON: DateTime as an ISO string; File only goes up in multipart requests.
  scalars: { DateTime: 'string', File: 'File' },
};

/**
 * The client preset over schema.graphql, for each client's documents (src/contract/operations/<client>.graphql).
 * String documents (`documentMode: 'string'`) so the CLI, the page and the tests send plain strings and nothing
 * from graphql or @graphql-typed-document-node is needed at run time; type imports only, so the page bundle and
 * dist/ carry no import of either. A document that does not validate against the schema fails generation.
 */
export function contractCodegenConfig(outputDir: string, documentsFor: (client: string) => string): CodegenConfig {
  return {
    schema: 'schema.graphql',
    silent: true,
    errorsOnly: true,
    generates: {
      ...Object.fromEntries(
        CLIENTS.map((client) => [
          `${outputDir}${client}/`,
          { preset: 'client', documents: documentsFor(client), presetConfig: { fragmentMasking: false }, config: CONFIG },
        ]),
      ),
      // Apollo Client 3's shape, which Apollo 4 takes unchanged; sorted, so a schema change is a small diff.
      [`${outputDir}${POSSIBLE_TYPES_FILE}`]: {
        plugins: ['fragment-matcher'],
        config: { apolloClientVersion: 3, deterministic: true },
      },
    },
  };
}

/**
 * Writes the generated contract (types and string documents) to `outputDir`, relative to `cwd` or absolute;
 * throws when a document does not validate against schema.graphql. `documentsFor` picks other documents (tests).
 */
export async function generateContract(
  cwd: string,
  {
    outputDir = GENERATED_DIR,
    documentsFor = (client: string) => `${OPERATIONS_DIR}${client}.graphql`,
  }: { outputDir?: string; documentsFor?: (client: string) => string } = {},
): Promise<void> {
  await generate({ ...contractCodegenConfig(outputDir, documentsFor), cwd }, true);
}
