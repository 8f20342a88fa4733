/** What every SSM operation shares: the state, the region, and the state directory (KMS keys, secrets). */
import type { JsonStateFile } from '../json-service/state-file.js';
import type { SsmState } from './store.js';

export interface SsmContext {
  stateDir: string;
  region: string;
  state: JsonStateFile<SsmState>;
}

/** JSON 1.1 timestamps are epoch seconds. */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}
