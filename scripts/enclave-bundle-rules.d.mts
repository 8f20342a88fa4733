// Types for enclave-bundle-rules.mjs (plain JavaScript so that scripts/build.mjs runs without a
// TypeScript loader).
import type { Metafile } from 'esbuild';

export declare const FORBIDDEN_ENCLAVE_INPUTS: readonly { pattern: RegExp; why: string }[];
export declare function forbiddenInputs(metafile: Metafile): string[];
export declare function largestInputs(metafile: Metafile, count: number): [string, number][];
