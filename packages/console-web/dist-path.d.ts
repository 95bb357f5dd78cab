/** Absolute path of the built console (`vite build` output); console-api serves it at `/`. */
export declare const webDistDir: string;
