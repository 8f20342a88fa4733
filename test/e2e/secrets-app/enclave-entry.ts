// Entry of the test enclave bundle: the production enclave program plus `test.secret-mac`.
import { runEnclave } from '../../../enclave/run.js';
import { registerSecretMac } from './handler.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const code = await runEnclave(process.argv.slice(2), (registry, services) => registerSecretMac(registry, services));
process.exitCode = code;
setTimeout(() => process.exit(code), 200).unref();
