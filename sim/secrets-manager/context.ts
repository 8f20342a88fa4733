/** What every Secrets Manager operation shares: the state, the region, the state directory (KMS keys). */
import type { JsonStateFile } from '../json-service/state-file.js';
import type { SecretsState } from './store.js';

export interface SecretsContext {
  stateDir: string;
  region: string;
  state: JsonStateFile<SecretsState>;
}
