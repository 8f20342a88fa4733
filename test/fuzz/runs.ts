/**
 * Fuzzing budget. `npm test` runs a small, fixed-seed sample so it stays fast;
 * `npm run fuzz` sets ENCLAVEKIT_FUZZ_RUNS=20000 for a longer search with the same properties.
 * Every property uses seed 42 (so a failure reproduces): a failure is reproduced by running it again.
 */
export const FUZZ_SEED = 42;

const fromEnv = Number(process.env['ENCLAVEKIT_FUZZ_RUNS']);
/** Runs per property: ENCLAVEKIT_FUZZ_RUNS when set (a positive integer), else 300. */
export const FUZZ_RUNS = Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : 300;

/** fast-check parameters: the fixed seed and `FUZZ_RUNS` scaled by `scale` (at least 1 run). */
export function fuzzParams(scale = 1): { seed: number; numRuns: number } {
  return { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(FUZZ_RUNS * scale)) };
}
