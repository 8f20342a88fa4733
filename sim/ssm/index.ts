export { startSsmSimulator, SSM_DISCOVERY, type SsmSimulator, type SsmSimulatorOptions } from './server.js';
export { ssmStatePath } from './store.js';
