/**
 * The AWS SDK's Node-version notice is silenced only where it fires (Node < 22, the development
 * line); on the production Node (24) both entry points leave it alone, so a future notice would be
 * seen. .ci/run runs this file on both Node versions.
 */
import { describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/built.js';
import { run } from './helpers.js';

const FLAG = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
const major = Number(process.versions.node.split('.')[0]);
// Reports the flag as the program left it, whatever the program's exit path.
const probe = `data:text/javascript,process.on('exit',()=>process.stderr.write('\\nflag='+String(process.env.${FLAG})+'\\n'))`;
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== FLAG));

describe(`AWS SDK Node-version notice on Node ${process.versions.node}`, () => {
  it.each(['bin/enclavekit.js help', 'dist/enclave.js --config /nonexistent.json'])('%s silences it only below Node 22', async (command) => {
    ensureBuilt();
    const [script, ...args] = command.split(' ');
    const result = await run(process.execPath, ['--import', probe, script!, ...args], { env });
    expect(result.stderr).toContain(`flag=${major < 22 ? 'true' : 'undefined'}`);
    expect(result.stderr).not.toContain('NodeVersionSupportWarning');
  });
});
