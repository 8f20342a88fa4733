/**
 * the production enclave bundle contains no simulator code. The bundle is built
 * the way scripts/build.mjs builds dist/enclave.js (esbuild, everything inlined) and its inputs
 * and text are searched for sim/ modules and the simulator banner.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { SIMULATOR_BANNER_MARKER } from '../../sim/announce.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const enclaveEntry = 'enclave/main.ts';
const hasEnclaveEntry = existsSync(`${repo}${enclaveEntry}`);
if (!hasEnclaveEntry) console.warn(`production-bundle test skipped: ${enclaveEntry} does not exist yet`);

/** Simulator modules and banner text found in a bundle of `entry`. */
async function simulatorTraces(entry: string): Promise<{ inputs: string[]; banner: boolean }> {
  const result = await build({
    absWorkingDir: repo,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const text = result.outputFiles.map((file) => file.text).join('\n');
  return {
    inputs: Object.keys(result.metafile.inputs).filter((input) => input.startsWith('sim/')),
    banner: text.includes(SIMULATOR_BANNER_MARKER),
  };
}

describe('production enclave bundle', () => {
  it('the check finds simulator code when an entry does pull it in (control)', async () => {
    const traces = await simulatorTraces('sim/nsm/simulated-nsm.ts');
    expect(traces.inputs).toContain('sim/nsm/simulated-nsm.ts');
    expect(traces.inputs).toContain('sim/announce.ts');
    expect(traces.banner).toBe(true);
  });

  it.skipIf(!hasEnclaveEntry)('enclave/main.ts bundles without any sim/ module or the simulator banner', async () => {
    const traces = await simulatorTraces(enclaveEntry);
    expect(traces.inputs).toEqual([]);
    expect(traces.banner).toBe(false);
  });
});
