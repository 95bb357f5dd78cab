import { fileURLToPath } from 'node:url';

/** Absolute path of the built console (`vite build` output); console-api serves it at `/`. */
export const webDistDir = fileURLToPath(new URL('./dist', import.meta.url));
