/** `enclavekit enclave --config FILE`: the enclave app in this process (dist/enclave.js is the same). */
export { runEnclave as run } from '../../enclave/run.js';
