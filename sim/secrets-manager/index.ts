export { startSecretsManagerSimulator, SECRETS_MANAGER_DISCOVERY, type SecretsManagerSimulator, type SecretsManagerSimulatorOptions } from './server.js';
export { secretsStatePath } from './store.js';
