// Copies the non-TypeScript files the server reads at run time next to the compiled JavaScript.
import { cpSync } from 'node:fs';

cpSync('src/segmind/simulator/assets', 'dist/segmind/simulator/assets', { recursive: true });
