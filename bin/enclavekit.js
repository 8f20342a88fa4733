#!/usr/bin/env node
// Thin launcher: the CLI is bundled to dist/cli.js by `npm run build` (run by `npm ci` via `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The AWS SDK warns on Node < 22 that its releases after January 2027 will need Node 22
// (@aws-sdk/core emitWarningIfUnsupportedVersion). Production runs Node 24, where it never fires and
// nothing is silenced; on the Node 20 development line the pinned SDK (package.json) is supported,
// so the notice there is about upgrades, not this build.
if (Number(process.versions.node.split('.')[0]) < 22) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const bundle = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('enclavekit: dist/cli.js is missing; run `npm run build` first\n');
  process.exit(2);
}
const { main } = await import(bundle);
process.exitCode = await main(process.argv.slice(2));
