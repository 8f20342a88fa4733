// Entry point of the production enclave bundle (dist/enclave.js).
import { runEnclave } from './run.js';

// @aws-sdk/* are pinned exactly (package.json); their notice about future releases needing Node 22
// concerns upgrades, not this build.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const code = await runEnclave(process.argv.slice(2));
process.exitCode = code;
// Leave no half-closed handle keeping a failed or stopped enclave alive.
setTimeout(() => process.exit(code), 200).unref();
