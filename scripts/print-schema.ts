import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printedSchema } from '../src/graphql/index.js';
import { generateContract } from './contract-codegen.js';

// The schema first: the client contract is generated from (and its documents checked against) this file.
writeFileSync(new URL('../schema.graphql', import.meta.url), printedSchema());
await generateContract(fileURLToPath(new URL('..', import.meta.url)));
