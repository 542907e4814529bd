import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.js';
import './value-types.js';
import './errors.js';
import './generation.js';
import './pagination.js';
import './generate-video.js';
import './subscription.js';
import './viewer.js';
import './webhook-deliveries.js';
import './story.js';

export const schema = builder.toSchema({ sortSchema: true });

/** The SDL committed as schema.graphql. */
export const printedSchema = () => `${printSchema(lexicographicSortSchema(schema)).trim()}\n`;
