/**
 * What a fleet host installs and runs, checked against the rest of the repository without
 * synthesizing (deploy/cdk/src is pure apart from the stacks): the parent's KMS tunnel listens on
 * the port the enclave image dials; the user data installs the release with `make install`, so
 * every program and file the systemd units name exists; the Node it ships is the production one;
 * and the docs' release tarball holds everything `make install` reads.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_VERSION, userDataLines } from '../../deploy/cdk/src/host-setup.js';
import { parseFleetSettings, type FleetSettings } from '../../deploy/cdk/src/settings.js';
import { parseParentConfig, proxyAllowlistOf } from '../../parent/config.js';
import { repoRoot } from './helpers.js';

const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');
const example = parseFleetSettings(JSON.parse(read('deploy/cdk/fleet.example.json')));
const PCR0 = 'a'.repeat(96);
const lines = (settings: FleetSettings = example) => userDataLines({ settings, pcr0: PCR0, stackName: 'EnclaveKitFleet', asgLogicalId: 'Hosts' });

/** The text of the heredoc that writes `file` in the user data. */
function heredocOf(userData: string[], file: string): string {
  const start = userData.indexOf(`cat > ${file} <<'ENCLAVEKIT_EOF'`);
  expect(start, `heredoc for ${file}`).toBeGreaterThanOrEqual(0);
  const end = userData.indexOf('ENCLAVEKIT_EOF', start + 1);
  return userData.slice(start + 1, end).join('\n');
}

const portOf = (url: string) => new URL(url).port;

describe('the parent config a fleet host writes', () => {
  const base = JSON.parse(heredocOf(lines(), '/root/enclavekit-parent-base.json')) as Record<string, unknown>;
  // The host merges API tokens and wrapped keys from S3 into this base (see the jq line in host-setup.ts).
  const config = parseParentConfig({ ...base, apiTokens: ['t'.repeat(32)] });

  it('opens the KMS tunnel on the port the enclave image dials, which is the parent default', () => {
    const enclaveProxy = (JSON.parse(read('deploy/enclave/enclave.json')) as { proxy: string }).proxy;
    const parentDefault = parseParentConfig({ apiTokens: ['t'.repeat(32)], enclaves: ['vsock://16:5005'], region: 'us-east-1' }).proxy.listen;
    expect(portOf(config.proxy.listen)).toBe(portOf(enclaveProxy));
    expect(portOf(config.proxy.listen)).toBe(portOf(parentDefault));
    expect(portOf(config.proxy.listen)).not.toBe('8000'); // AWS's vsock-proxy port: taken on a stock host
    expect(proxyAllowlistOf(config)).toEqual(['kms.us-east-1.amazonaws.com:443']);
  });

  it('names one enclave URL per configured enclave', () => {
    expect(config.enclaves).toEqual(['vsock://16:5005']);
    const three = parseParentConfig({ ...JSON.parse(heredocOf(lines({ ...example, enclaves: { ...example.enclaves, count: 3 } }), '/root/enclavekit-parent-base.json')), apiTokens: ['t'.repeat(32)] });
    expect(three.enclaves).toEqual(['vsock://16:5005', 'vsock://17:5005', 'vsock://18:5005']);
  });
});

/**
 * Paths a list of shell commands creates, for the forms the user data and `make -n install` print:
 * `install [-d] ...`, `cp -R SRC... DIR/`, `mv FROM TO` and `cat > FILE`. Directory copies are kept
 * as (destination → source) so a path inside them can be checked against the source tree.
 */
function createdBy(commands: string[]): { files: Set<string>; trees: Map<string, string> } {
  const files = new Set<string>();
  const trees = new Map<string, string>();
  for (const command of commands) {
    const words = command.trim().split(/\s+/);
    const args = words.slice(1).filter((w, i, all) => !w.startsWith('-') && !['-m', '-o', '-g'].includes(all[i - 1] ?? ''));
    if (words[0] === 'install') {
      if (words.includes('-d')) for (const dir of args) files.add(dir);
      else {
        const dest = args.at(-1)!;
        for (const src of args.slice(0, -1)) files.add(dest.endsWith('/') ? dest + path.basename(src) : dest);
      }
    } else if (words[0] === 'cp' && words[1] === '-R') {
      const dest = args.at(-1)!;
      for (const src of args.slice(0, -1)) trees.set(path.join(dest, path.basename(src)), src);
    } else if (words[0] === 'mv') {
      const [from, to] = args as [string, string];
      for (const [dest, src] of [...trees]) if (dest.startsWith(`${from}/`)) trees.set(to + dest.slice(from.length), src);
    } else if (words[0] === 'cat' && words[1] === '>') files.add(words[2]!);
  }
  return { files, trees };
}

describe('the install a fleet host runs', () => {
  const userData = lines();
  const makeLine = userData.find((l) => /^make -C \S+ install /.test(l));
  const [, releaseDir, makeArgs] = /^make -C (\S+) install (.*)$/.exec(makeLine ?? '') ?? [];
  // What `make install` would run with the user data's arguments (printed, not run: -n).
  const dryRun = makeLine === undefined ? [] : execFileSync('make', ['-n', '-s', '-C', repoRoot, 'install', 'DESTDIR=', ...makeArgs!.split(' ')], { encoding: 'utf8' }).split('\n');

  it('installs the release with the Makefile install target, not a procedure of its own', () => {
    expect(makeLine, 'a `make -C RELEASE install ...` line').toBeDefined();
    expect(makeArgs).toMatch(new RegExp(`(^| )NODE=${releaseDir}/build/node( |$)`));
    expect(makeArgs).toMatch(new RegExp(`(^| )EIF=${releaseDir}/build/enclave.eif( |$)`));
    // The release is unpacked and checked before the install, and the unit files come only from it.
    const at = (re: RegExp) => userData.findIndex((l) => re.test(l));
    expect(at(/sha256sum -c/)).toBeLessThan(at(/^tar -xzf/));
    expect(at(/^tar -xzf/)).toBeLessThan(at(/^make -C/));
    expect(at(/PCR0/)).toBeLessThan(at(/^make -C/));
    expect(userData.join('\n')).not.toMatch(/nodejs\d+|alternatives --set node|\/opt\/enclavekit|systemd\/system\//);
  });

  it('creates every program, environment file and config file the systemd units name', () => {
    const created = createdBy([...dryRun, ...userData]);
    const units = readdirSync(path.join(repoRoot, 'deploy/systemd')).filter((f) => f.endsWith('.service'));
    const named: string[] = [];
    for (const unit of units) {
      const text = read(`deploy/systemd/${unit}`);
      for (const [, value] of text.matchAll(/^(?:ExecStart|EnvironmentFile)=-?(.*)$/gm)) {
        for (const word of value!.split(/\s+/).filter((w) => w.startsWith('/'))) {
          if (!word.includes('%i')) named.push(word);
          // One instance of the template unit per enclave.
          else for (let i = 1; i <= example.enclaves.count; i++) named.push(word.replace('%i', String(i)));
        }
      }
    }
    expect(named).toContain('/usr/local/lib/enclavekit/bin/node');
    expect(named).toContain('/usr/local/lib/enclavekit/bin/enclavekit-enclave');
    for (const file of named) {
      const tree = [...created.trees].find(([dest]) => file.startsWith(`${dest}/`));
      const exists = created.files.has(file) || (tree !== undefined && existsSync(path.join(repoRoot, tree[1], file.slice(tree[0].length))));
      expect(exists, `${file} is created by the user data`).toBe(true);
    }
    expect(created.files.has('/etc/enclavekit/parent.json')).toBe(true);
  });

  it('points each enclave at the EIF the install put in place', () => {
    const created = createdBy(dryRun);
    const eif = /^EIF_PATH=(.*)$/m.exec(heredocOf(userData, '/etc/enclavekit/enclave-1.env'))![1]!;
    expect(created.files.has(eif)).toBe(true);
    expect(eif).toBe(/^EIF_PATH=(.*)$/m.exec(read('deploy/systemd/enclave.env'))![1]);
  });

  it('runs the production Node: the version of the enclave image and of the CI production pass', () => {
    expect(userData).toContain(`test "$(${releaseDir}/build/node --version)" = 'v${NODE_VERSION}'`);
    expect(/^NODE_PRODUCTION_VERSION=(\S+)$/m.exec(read('.ci/run'))![1]).toBe(NODE_VERSION);
    const imageTags = [...read('Dockerfile.enclave').matchAll(/^ARG \w+_IMAGE=node:([\d.]+)-/gm)].map((m) => m[1]);
    expect(imageTags.length).toBe(2);
    for (const tag of imageTags) expect(tag).toBe(NODE_VERSION);
  });

  it("the runbook's release tarball holds every file make install and the user data read from it", () => {
    const fleet = read('docs/deploy.md').split('\n## Fleet')[1]!;
    const tar = /^\s*tar -czf \S+ (.*)$/m.exec(fleet)?.[1];
    expect(tar, 'a tar -czf line in the Fleet section').toBeDefined();
    const members = tar!.split(/\s+/).filter((w) => !w.startsWith('--'));
    const covered = (file: string) => members.some((m) => file === m || file.startsWith(`${m}/`));
    // Relative sources in the dry run (run inside the release), and the release paths the user data names.
    const sources = dryRun.flatMap((l) => (/^(install|cp) /.test(l) ? l.split(/\s+/).slice(1, -1) : [])).filter((w) => !w.startsWith('-') && !/^(root|0\d{3})$/.test(w) && !w.startsWith('/'));
    const fromRelease = [...userData.join('\n').matchAll(new RegExp(`${releaseDir}/([\\w./-]+)`, 'g'))].map((m) => m[1]!);
    const needed = [...new Set(['Makefile', ...sources, ...fromRelease])];
    expect(needed).toEqual(expect.arrayContaining(['Makefile', 'build/node', 'build/enclave.eif', 'deploy/bin/enclavekit-enclave', 'node_modules']));
    expect(needed.filter((f) => !covered(f))).toEqual([]);
  });
});
