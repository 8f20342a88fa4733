/** The KMS simulator. See sim/kms/README.md. */
export { startKmsSimulator, loadKmsPrincipals, kmsDiscoveryPath, kmsStateDir } from './server.js';
export type { KmsSimulator, KmsSimulatorOptions, KmsDiscovery } from './server.js';
export type { KmsPrincipal } from './sigv4.js';
export type { FaultSettings } from './faults.js';
export { DEFAULT_FAULTS, DEFAULT_QUOTA_PER_SECOND } from './faults.js';
export { FAULTS_PATH, MAX_REQUEST_BODY_BYTES } from './http-handler.js';
export { KMS_ERROR_NAMES, type KmsErrorName } from './errors.js';
