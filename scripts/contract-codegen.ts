import { generate } from '@graphql-codegen/cli';
import type { CodegenConfig } from '@graphql-codegen/cli';

/** Where the documents every client sends live, and where their generated types go (both under src/contract/). */
export const OPERATIONS_GLOB = 'src/contract/operations/*.graphql';
export const GENERATED_DIR = 'src/contract/generated/';

/**
 * The client preset over schema.graphql. String documents (`documentMode: 'string'`) so the CLI, the page and the
 * tests send plain strings and nothing from graphql or @graphql-typed-document-node is needed at run time; type
 * imports only, so the page bundle and dist/ carry no import of either. A document that does not validate against
 * the schema fails generation.
 */
export function contractCodegenConfig(outputDir: string = GENERATED_DIR, documents: string = OPERATIONS_GLOB): CodegenConfig {
  return {
    schema: 'schema.graphql',
    documents,
    silent: true,
    errorsOnly: true,
    generates: {
      [outputDir]: {
        preset: 'client',
        presetConfig: { fragmentMasking: false },
        config: {
          documentMode: 'string',
          useTypeImports: true,
          importExtension: '.js',
          enumsAsTypes: true,
          strictScalars: true,
          // How the scalars travel in JSON: DateTime as an ISO string; File only goes up in multipart requests.
          scalars: { DateTime: 'string', File: 'File' },
        },
      },
    },
  };
}

/**
 * Writes the generated contract (types and string documents) to `outputDir`, relative to `cwd` or absolute;
 * throws when a document does not validate against schema.graphql.
 */
export async function generateContract(
  cwd: string,
  { outputDir = GENERATED_DIR, documents = OPERATIONS_GLOB }: { outputDir?: string; documents?: string } = {},
): Promise<void> {
  await generate({ ...contractCodegenConfig(outputDir, documents), cwd }, true);
}
