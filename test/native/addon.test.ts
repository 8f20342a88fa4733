/**
 * Finding the addon: from the source tree, from an explicit ENCLAVEKIT_ADDON, and beside an esbuild
 * bundle (how the enclave image ships dist/enclave.js + enclavekit.node); a typed error otherwise.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ADDON_ENV, addonCandidates } from '../../shared/native/addon.js';
import { addonMissing } from './helpers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const built = join(repoRoot, 'build', 'Release', 'enclavekit.node');
const work = mkdtempSync(join(tmpdir(), 'ek-addon-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('addonCandidates', () => {
  it('tries only ENCLAVEKIT_ADDON when it is set', () => {
    expect(addonCandidates({ [ADDON_ENV]: 'lib/x.node' }, '/opt/app')).toEqual([resolve('lib/x.node')]);
  });

  it('tries beside the module first, then build/Release up the tree', () => {
    const candidates = addonCandidates({}, '/opt/app/dist');
    expect(candidates[0]).toBe('/opt/app/dist/enclavekit.node');
    expect(candidates).toContain('/opt/app/dist/build/Release/enclavekit.node');
    expect(candidates).toContain('/opt/app/build/Release/enclavekit.node');
  });
});

describe('loadAddon when the addon is missing', () => {
  it('throws ERR_NSM_UNAVAILABLE for the NSM and ERR_TRANSPORT for sockets, naming the fix', async () => {
    vi.resetModules();
    const saved = process.env[ADDON_ENV];
    process.env[ADDON_ENV] = join(work, 'absent.node');
    try {
      const fresh = await import('../../shared/native/addon.js');
      expect(() => fresh.loadAddon('nsm')).toThrow(expect.objectContaining({ code: 'ERR_NSM_UNAVAILABLE' }));
      expect(() => fresh.loadAddon('transport')).toThrow(expect.objectContaining({ code: 'ERR_TRANSPORT' }));
      expect(fresh.addonLoadError()).toContain(ADDON_ENV);
      expect(fresh.findAddon()).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env[ADDON_ENV];
      else process.env[ADDON_ENV] = saved;
      vi.resetModules();
    }
  });

  it('reports a file that is not an addon as a load failure', async () => {
    vi.resetModules();
    const bogus = join(work, 'bogus.node');
    writeFileSync(bogus, 'not an ELF file');
    const saved = process.env[ADDON_ENV];
    process.env[ADDON_ENV] = bogus;
    try {
      const fresh = await import('../../shared/native/addon.js');
      expect(() => fresh.loadAddon('transport')).toThrow(expect.objectContaining({ code: 'ERR_TRANSPORT', message: expect.stringContaining('failed to load') }));
    } finally {
      if (saved === undefined) delete process.env[ADDON_ENV];
      else process.env[ADDON_ENV] = saved;
      vi.resetModules();
    }
  });
});

describe.skipIf(addonMissing)('the addon beside an esbuild bundle', () => {
  it('loads enclavekit.node from the bundle’s directory, and fails typed without it', async () => {
    const entry = join(work, 'entry.ts');
    writeFileSync(
      entry,
      [
        `import { loadAddon } from ${JSON.stringify(join(repoRoot, 'shared', 'native', 'addon.ts'))};`,
        'try {',
        "  const addon = loadAddon('transport');",
        "  console.log(typeof addon.NativeSocket === 'function' && addon.NSM_IOCTL_RAW === 0xc0200a00 ? 'loaded' : 'wrong');",
        '} catch (error) {',
        '  console.log(`error ${(error as { code?: string }).code}`);',
        '}',
      ].join('\n'),
    );
    const image = join(work, 'image');
    await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: join(image, 'enclave.mjs'), logLevel: 'silent' });
    const run = (): string => {
      const env = { ...process.env };
      delete env[ADDON_ENV];
      return execFileSync(process.execPath, [join(image, 'enclave.mjs')], { env, encoding: 'utf8' }).trim();
    };
    // The temp directory is outside the repository: nothing up the tree has build/Release.
    expect(run()).toBe('error ERR_TRANSPORT');
    copyFileSync(built, join(image, 'enclavekit.node'));
    expect(run()).toBe('loaded');
  });
});
