import { writeFileSync } from 'node:fs';
import { printedSchema } from '../src/graphql/index.js';

writeFileSync(new URL('../schema.graphql', import.meta.url), printedSchema());
