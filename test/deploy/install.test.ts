/**
 * `make install` into a staging directory (DESTDIR): root-run code, units and the EIF land in
 * root-owned files no other account can write (the enclave unit runs its script as root, so a
 * compromised user account must not be able to edit it); the units' programs exist where the units
 * look; the installed parent runs from its own copy; config files are installed once and never
 * overwritten; and a Node that is not the production major is refused.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/built.js';
import { repoRoot, run, tempDir } from './helpers.js';

const make = execFileSync('sh', ['-c', 'command -v make'], { encoding: 'utf8' }).trim();
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('make install tests skipped: they need root (install -o root, chown)');
const LIBDIR = '/usr/local/lib/enclavekit';
const major = process.versions.node.split('.')[0]!;

let dir: string;
let dest: string;
let eif: string;
const installArgs = () => ['install', `DESTDIR=${dest}`, `EIF=${eif}`, `PCRS=${path.join(dir, 'none.json')}`, `NODE=${process.execPath}`, `NODE_MAJOR=${major}`];

/** Every path under `root`, files and directories. */
function walk(root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    out.push(full);
    if (entry.isDirectory()) out.push(...walk(full));
  }
  return out;
}

/** ExecStart words of an installed unit. */
const execStart = (unit: string) => /^ExecStart=(.*)$/m.exec(readFileSync(path.join(dest, '/etc/systemd/system', unit), 'utf8'))![1]!.split(/\s+/);

beforeAll(async () => {
  if (!isRoot) return;
  ensureBuilt();
  dir = tempDir('install');
  dest = path.join(dir, 'root');
  eif = path.join(dir, 'enclave.eif');
  writeFileSync(eif, 'EIF');
  const result = await run(make, installArgs(), { timeoutMs: 120_000 });
  expect(result.code, result.stderr).toBe(0);
}, 180_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('make install DESTDIR=...', () => {
  it('leaves nothing under the install root that anyone but root owns or can write', () => {
    const paths = [path.join(dest, LIBDIR), ...walk(path.join(dest, LIBDIR)), path.join(dest, '/etc/systemd/system/enclavekit-enclave@.service'), path.join(dest, '/etc/systemd/system/enclavekit-parent.service'), path.join(dest, '/etc/logrotate.d/enclavekit')];
    const bad = paths.filter((p) => {
      const stat = lstatSync(p);
      return stat.uid !== 0 || stat.gid !== 0 || (!stat.isSymbolicLink() && (stat.mode & 0o022) !== 0);
    });
    expect(bad.map((p) => path.relative(dest, p))).toEqual([]);
    expect(paths.length).toBeGreaterThan(100); // the app and its node_modules are in the walk
  });

  it('installs the root-run script, the Node binary, the EIF read-only, and units and logrotate 0644', () => {
    const mode = (p: string) => statSync(path.join(dest, p)).mode & 0o7777;
    expect(mode(`${LIBDIR}/bin/enclavekit-enclave`)).toBe(0o755);
    expect(mode(`${LIBDIR}/bin/node`)).toBe(0o755);
    expect(mode(`${LIBDIR}/eif/enclave.eif`)).toBe(0o444);
    expect(mode('/etc/systemd/system/enclavekit-enclave@.service')).toBe(0o644);
    expect(mode('/etc/logrotate.d/enclavekit')).toBe(0o644);
    expect(readFileSync(path.join(dest, `${LIBDIR}/bin/enclavekit-enclave`))).toEqual(readFileSync(path.join(repoRoot, 'deploy/bin/enclavekit-enclave')));
  });

  it('the units start programs that the install created, and the example enclave settings point at the installed EIF', () => {
    const words = [...execStart('enclavekit-enclave@.service'), ...execStart('enclavekit-parent.service')].filter((w) => w.startsWith(LIBDIR));
    expect(words.length).toBe(3);
    for (const word of words) expect(statSync(path.join(dest, word)).isFile(), word).toBe(true);
    const env = readFileSync(path.join(dest, '/etc/enclavekit/enclave-1.env'), 'utf8');
    const eifPath = /^EIF_PATH=(.*)$/m.exec(env)![1]!;
    expect(readFileSync(path.join(dest, eifPath), 'utf8')).toBe('EIF');
  });

  it('the installed parent runs from its own copy with the installed Node', async () => {
    const [node, script] = execStart('enclavekit-parent.service');
    const result = await run(path.join(dest, node!), [path.join(dest, script!), 'help'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toContain('parent');
  });

  it('a second install replaces the app but keeps an edited config file', async () => {
    const envFile = path.join(dest, '/etc/enclavekit/enclave-1.env');
    writeFileSync(envFile, 'EIF_PATH=/edited\n');
    chmodSync(envFile, 0o644);
    writeFileSync(path.join(dest, LIBDIR, 'app', 'planted.js'), 'tampered');
    const result = await run(make, installArgs(), { timeoutMs: 120_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(envFile, 'utf8')).toBe('EIF_PATH=/edited\n');
    expect(readdirSync(path.join(dest, LIBDIR, 'app'))).not.toContain('planted.js');
    expect(readdirSync(path.join(dest, LIBDIR))).not.toContain('app.new');
  }, 180_000);

  it('refuses a Node that is not the production major, before writing anything', async () => {
    const other = path.join(dir, 'other-root');
    const result = await run(make, [...installArgs().filter((a) => !a.startsWith('NODE_MAJOR=') && !a.startsWith('DESTDIR=')), `DESTDIR=${other}`, 'NODE_MAJOR=99']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('is not Node 99, the production release');
    expect(() => statSync(other)).toThrow();
  });

  it('refuses without an EIF', async () => {
    const result = await run(make, [...installArgs().filter((a) => !a.startsWith('EIF=')), `EIF=${path.join(dir, 'missing.eif')}`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('run make image eif first');
  });
});
