// Entry point of the production enclave bundle (dist/enclave.js), and of its pool workers: the
// worker pool starts this same file on each worker thread (enclave/workers/pool.ts), where
// runEnclave runs the pool worker, so the image holds one program.
import { isMainThread } from 'node:worker_threads';
import { runEnclave } from './run.js';

// The AWS SDK warns on Node < 22 that its releases after January 2027 will need Node 22
// (@aws-sdk/core emitWarningIfUnsupportedVersion). Production runs Node 24, where it never fires and
// nothing is silenced; on the Node 20 development line the pinned SDK (package.json) is supported,
// so the notice there is about upgrades, not this build.
if (isMainThread && Number(process.versions.node.split('.')[0]) < 22) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const code = await runEnclave(process.argv.slice(2));
process.exitCode = code;
// Leave no half-closed handle keeping a failed or stopped enclave alive.
setTimeout(() => process.exit(code), 200).unref();
