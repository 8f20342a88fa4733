/**
 * Dockerfile.enclave without a Docker engine: its stages are read and checked,
 * the files its final stage copies are the ones the bundle needs, the build context admits every
 * input of the build, and the final stage's command is run for real against the same file layout
 * (the bundle, the addon beside it, the measured config), dropped to the unprivileged user.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADDON_FILE } from '../../shared/native/addon.js';
import { execForm, parseCopy, parseDockerfile, type Stage } from './dockerfile.js';
import { admitted, parseDockerignore } from './dockerignore.js';
import { repoRoot, run, sha384File, tempDir, trackedFiles } from './helpers.js';

const dockerfile = parseDockerfile(readFileSync(path.join(repoRoot, 'Dockerfile.enclave'), 'utf8'));
const [buildStage, chronyStage, finalStage] = dockerfile.stages as [Stage, Stage, Stage];
const hasEntry = existsSync(path.join(repoRoot, 'enclave/main.ts'));
if (!hasEntry) console.warn('Dockerfile run test skipped: enclave/main.ts does not exist yet');

const ofKind = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const allCopies = ofKind(finalStage, 'COPY').map(parseCopy);
/** The final stage's copies from the build stage: files of the repository after npm ci. */
const finalCopies = allCopies.filter((c) => c.from === 'build');
const cmd = execForm(ofKind(finalStage, 'CMD').at(-1)!);
const workdir = ofKind(buildStage, 'WORKDIR').at(-1)?.args ?? '/';
const startScript = readFileSync(path.join(repoRoot, 'deploy/enclave/start'), 'utf8');
/** The app's command: the `exec` line that ends deploy/enclave/start. */
const appCmd = /^exec (.+)$/m.exec(startScript)![1]!.split(' ');
/** The Node major the enclave image and the host units run. */
const PRODUCTION_NODE_MAJOR = '24';

/** Where a COPY from the build stage takes its file from, relative to the repository. */
const repoPathOf = (source: string) => path.posix.relative(workdir, source);
const destOf = (repoPath: string) => finalCopies.find((c) => c.sources.map(repoPathOf).includes(repoPath))?.dest;
const SHIPPED = ['build/Release/enclavekit.node', 'deploy/enclave/chrony.conf', 'deploy/enclave/enclave.json', 'deploy/enclave/start', 'dist/enclave.js'];
const EXECUTABLE = (file: string) => file.endsWith('.node') || file.endsWith('/start');

describe('Dockerfile.enclave', () => {
  it('has a build stage and a final stage, pinned by digest to the same Node 24 release, the production line of package.json engines', () => {
    expect(dockerfile.stages).toHaveLength(3);
    expect(buildStage.name).toBe('build');
    expect(chronyStage).toMatchObject({ name: 'chrony', image: buildStage.image });
    const version = /^node:(\d+)\.(\d+)\.(\d+)-bookworm@sha256:[0-9a-f]{64}$/.exec(buildStage.image);
    const runtime = /^node:(\d+)\.(\d+)\.(\d+)-bookworm-slim@sha256:[0-9a-f]{64}$/.exec(finalStage.image);
    expect(version, buildStage.image).not.toBeNull();
    expect(runtime, finalStage.image).not.toBeNull();
    expect(runtime!.slice(1, 4)).toEqual(version!.slice(1, 4));
    expect(version![1]).toBe(PRODUCTION_NODE_MAJOR);
    const engines = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    // Node 20 (development and CI machines) and Node 24 (production); both run the whole suite (.ci/run).
    expect(engines.split('||').map((range) => range.trim())).toEqual(['^20.19.0', `>=${PRODUCTION_NODE_MAJOR}.0.0`]);
  });

  it('.ci/run tests on the Node release the image runs', () => {
    const ci = readFileSync(path.join(repoRoot, '.ci/run'), 'utf8');
    const pinned = /^NODE_PRODUCTION_VERSION=(\S+)$/m.exec(ci)?.[1];
    expect(`node:${pinned}-bookworm-slim`).toBe(finalStage.image.split('@')[0]);
  });

  it('builds with npm ci and stamps every shipped file with SOURCE_DATE_EPOCH', () => {
    expect(ofKind(buildStage, 'ARG').map((i) => i.args)).toContain('SOURCE_DATE_EPOCH=0');
    expect(ofKind(buildStage, 'ENV').map((i) => i.args).join(' ')).toContain('npm_config_nodedir=/usr/local');
    const runs = ofKind(buildStage, 'RUN').map((i) => i.args);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/^npm ci\b/);
    const touch = /touch -d "@\$\{SOURCE_DATE_EPOCH\}" ([^&]+)/.exec(runs[0]!);
    expect(touch).not.toBeNull();
    const stamped = touch![1]!.trim().split(/\s+/).sort();
    expect(stamped).toEqual(finalCopies.flatMap((c) => c.sources.map(repoPathOf)).sort());
  });

  it('copies exactly the bundle, the addon beside it, the config, the start script and chrony into the final stage, root-owned, and runs nothing there', () => {
    expect(ofKind(finalStage, 'RUN')).toEqual([]);
    expect(ofKind(finalStage, 'ADD')).toEqual([]);
    for (const copy of allCopies) {
      expect(['build', 'chrony']).toContain(copy.from);
      expect(copy.flags.chown).toBe('0:0');
      expect(copy.sources).toHaveLength(1);
    }
    expect(finalCopies.flatMap((c) => c.sources.map(repoPathOf)).sort()).toEqual(SHIPPED);
    expect(allCopies.filter((c) => c.from === 'chrony').map((c) => [c.sources[0], c.dest])).toEqual([['/out/chrony', '/app/chrony']]);
    const bundle = destOf('dist/enclave.js')!;
    const addon = destOf('build/Release/enclavekit.node')!;
    // shared/native/addon.ts looks for enclavekit.node beside the bundle.
    expect(path.posix.basename(addon)).toBe(ADDON_FILE);
    expect(path.posix.dirname(addon)).toBe(path.posix.dirname(bundle));
  });

  it('takes chronyd from a fixed Debian snapshot, with its own libraries but never a second glibc, stamped with SOURCE_DATE_EPOCH', () => {
    const args = ofKind(chronyStage, 'ARG').map((i) => i.args);
    expect(args).toContain('SOURCE_DATE_EPOCH=0');
    expect(args.find((a) => a.startsWith('DEBIAN_SNAPSHOT='))).toMatch(/^DEBIAN_SNAPSHOT=\d{8}T\d{6}Z$/);
    const runs = ofKind(chronyStage, 'RUN').map((i) => i.args);
    expect(runs).toHaveLength(1);
    const script = runs[0]!;
    expect(script).toContain('rm -f /etc/apt/sources.list.d/*');
    expect(script).toContain('http://snapshot.debian.org/archive/debian/%s bookworm main');
    expect(script).toMatch(/apt-get install [^&]*--no-install-recommends chrony/);
    expect(script).toContain("! ldd /usr/sbin/chronyd | grep -q 'not found'");
    expect(script).toContain("grep -Ev '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\\.so'");
    expect(script).toContain('touch -h -d "@${SOURCE_DATE_EPOCH}"');
    // The config the start script names is the one shipped, and it reads the PTP clock.
    expect(startScript).toContain(`-f ${destOf('deploy/enclave/chrony.conf')} -u nobody`);
    expect(readFileSync(path.join(repoRoot, 'deploy/enclave/chrony.conf'), 'utf8')).toMatch(/^refclock PHC \/dev\/ptp0 /m);
  });

  it('runs the start script from an exec-form CMD, which ends by starting the bundle with the copied config as uid 1000', () => {
    // nitro-cli uses CMD alone (ENTRYPOINT only without a CMD), and the enclave init runs it with
    // cwd / and a fixed PATH: see the file's header.
    expect(ofKind(finalStage, 'ENTRYPOINT').map((i) => i.args)).toEqual(['[]']);
    expect(cmd).toEqual([destOf('deploy/enclave/start')]);
    expect(startScript.split('\n')[0]).toBe('#!/bin/sh');
    expect(appCmd[0]).toBe('/usr/bin/setpriv');
    expect(appCmd).toEqual(expect.arrayContaining(['--reuid=1000', '--regid=1000', '--clear-groups', '--no-new-privs', '--bounding-set=-all', '--inh-caps=-all']));
    const program = appCmd.slice(appCmd.findIndex((word) => !word.startsWith('-') && word !== appCmd[0]));
    expect(program).toEqual(['/usr/local/bin/node', destOf('dist/enclave.js'), '--config', destOf('deploy/enclave/enclave.json')]);
    for (const word of program.filter((w) => !w.startsWith('--'))) expect(path.posix.isAbsolute(word), word).toBe(true);
  });

  it.skipIf(!hasEntry)('the build stage command after npm ci stamps, protects and hashes the shipped files (run here)', async () => {
    const dir = tempDir('build-stage');
    try {
      const shipped = finalCopies.map((c) => repoPathOf(c.sources[0]!));
      for (const file of shipped) {
        mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
        copyFileSync(path.join(repoRoot, file), path.join(dir, file));
      }
      // npm ci itself (network, node-gyp, prepare) is covered by reproducible.test.ts.
      const script = ofKind(buildStage, 'RUN')[0]!.args.replace(/^npm ci\b/, 'true');
      const result = await run('sh', ['-c', script], { cwd: dir, env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: '1700000000' } });
      expect(result.code, result.stderr).toBe(0);
      for (const file of shipped) {
        const stat = statSync(path.join(dir, file));
        expect(stat.mtimeMs, file).toBe(1_700_000_000_000);
        expect(stat.mode & 0o777, file).toBe(EXECUTABLE(file) ? 0o555 : 0o444);
        expect(result.stdout).toContain(`${sha384File(path.join(dir, file))}  ${file}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('copies paths that exist after npm ci / npm run build', () => {
    const needed = SHIPPED.filter((file) => hasEntry || file !== 'dist/enclave.js');
    const missing = needed.filter((file) => !existsSync(path.join(repoRoot, file)));
    expect(missing, 'run npm ci (or npm run build)').toEqual([]);
  });
});

describe('.dockerignore', () => {
  const rules = parseDockerignore(readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8'));

  async function bundleInputs(entry: string, external: boolean): Promise<string[]> {
    const result = await build({
      absWorkingDir: repoRoot,
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      preserveSymlinks: true,
      ...(external ? { packages: 'external' as const } : {}),
    });
    return Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('node_modules/'));
  }

  it('admits every input of the builds that npm ci runs', async () => {
    const gyp = readFileSync(path.join(repoRoot, 'binding.gyp'), 'utf8').replace(/^\s*#.*$/gm, '');
    const addonSources = (JSON.parse(gyp) as { targets: { sources: string[] }[] }).targets.flatMap((t) => t.sources);
    const inputs = [
      'package.json', 'package-lock.json', 'tsconfig.json', 'binding.gyp', 'scripts/build.mjs', 'scripts/enclave-bundle-rules.mjs', 'deploy/enclave/enclave.json', 'deploy/enclave/start', 'deploy/enclave/chrony.conf',
      ...addonSources,
      ...trackedFiles().filter((f) => f.startsWith('native/') && f.endsWith('.h')),
      ...(await bundleInputs('cli/main.ts', true)),
      ...(hasEntry ? await bundleInputs('enclave/main.ts', false) : []),
    ];
    expect(inputs.filter((file) => !admitted(rules, file))).toEqual([]);
  });

  it('keeps local state and build outputs out of the context', () => {
    for (const file of ['node_modules/esbuild/package.json', 'shared/node_modules/x.js', 'dist/enclave.js', 'build/Release/enclavekit.node', '.git/HEAD', '.enclavekit/dev.json', 'test/deploy/dockerfile.test.ts', 'docs/deploy.md', 'deploy/parent/parent.json', 'bench/results/latest.json', 'npm-debug.log']) {
      expect(admitted(rules, file), file).toBe(false);
    }
  });
});

describe('the start script, run against the image layout', () => {
  const isRoot = process.getuid?.() === 0;
  const hasSetpriv = existsSync(appCmd[0] ?? '');
  const hasNsm = existsSync('/dev/nsm');
  const canRun = hasEntry && isRoot && hasSetpriv && !hasNsm;
  if (hasEntry && !canRun) console.warn(`start script run skipped: needs root (${isRoot}), ${appCmd[0]} (${hasSetpriv}) and no /dev/nsm (${!hasNsm})`);

  let root: string;
  /** deploy/enclave/start with the image's /app/..., /dev/ptp0 and Node paths mapped into a layout under `root`. */
  let localStart: (variant: 'with-addon' | 'without-addon' | 'with-ptp') => string;

  beforeAll(async () => {
    if (!canRun) return;
    root = tempDir('image');
    chmodSync(root, 0o755); // mkdtemp makes 0700 directories: uid 1000 must walk to the files, as in the image
    const out = path.join(root, 'out');
    const built = await run(process.execPath, ['scripts/build.mjs', '--enclave-only', '--outdir', out], { timeoutMs: 60_000 });
    expect(built.code, built.stderr).toBe(0);
    const scripts: Record<string, string> = {};
    for (const variant of ['with-addon', 'without-addon', 'with-ptp'] as const) {
      const base = path.join(root, variant);
      for (const copy of finalCopies) {
        const repoPath = repoPathOf(copy.sources[0]!);
        if (variant === 'without-addon' && repoPath.startsWith('build/')) continue;
        const from = repoPath === 'dist/enclave.js' ? path.join(out, 'enclave.js') : path.join(repoRoot, repoPath);
        const to = path.join(base, copy.dest);
        mkdirSync(path.dirname(to), { recursive: true });
        copyFileSync(from, to);
        if (repoPath === 'deploy/enclave/enclave.json') {
          // The shipped config, but its link on a Unix socket of this layout: vsock ports are one
          // namespace for the whole machine, so two runs of this test (or a real enclave link)
          // would otherwise take each other's port 5005.
          // The app runs as uid 1000: its socket directory must be writable to it.
          const linkDir = path.join(base, 'link');
          mkdirSync(linkDir, { recursive: true });
          chmodSync(linkDir, 0o1777);
          const config = JSON.parse(readFileSync(to, 'utf8')) as Record<string, unknown>;
          writeFileSync(to, JSON.stringify({ ...config, listen: `unix://${path.join(linkDir, 'enclave.sock')}` }));
        }
        chmodSync(to, EXECUTABLE(repoPath) ? 0o555 : 0o444);
      }
      // chronyd stand-in: records who started it and with what, then returns as the daemon does.
      mkdirSync(path.join(base, 'app/chrony'), { recursive: true });
      writeFileSync(path.join(base, 'app/chrony/chronyd'), `#!/bin/sh\necho "$(id -u) $LD_LIBRARY_PATH $*" > ${path.join(base, 'chronyd.called')}\n`);
      chmodSync(path.join(base, 'app/chrony/chronyd'), 0o755);
      for (const dir of [base, path.join(base, 'app')]) chmodSync(dir, 0o755);
      // A character device standing in for the PTP clock (the null device's numbers).
      const ptp = path.join(base, 'ptp0');
      if (variant === 'with-ptp') execFileSync('mknod', [ptp, 'c', '1', '3']);
      const text = startScript.replaceAll('/dev/ptp0', ptp).replaceAll('/usr/local/bin/node', process.execPath).replaceAll('/app/', `${base}/app/`);
      scripts[variant] = path.join(base, 'start.local');
      writeFileSync(scripts[variant], text);
      chmodSync(scripts[variant], 0o755);
    }
    localStart = (variant) => scripts[variant]!;
  }, 60_000);

  afterAll(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });

  it.skipIf(!canRun)('drops the app to uid 1000 with no capabilities', async () => {
    const prefix = appCmd.slice(0, appCmd.indexOf('/usr/local/bin/node'));
    const probe = `process.stdout.write(JSON.stringify([process.getuid(), process.getgid(), require('fs').readFileSync('/proc/self/status','utf8').match(/CapEff:\\s*(\\S+)/)[1]]))`;
    const result = await run(prefix[0]!, [...prefix.slice(1), process.execPath, '-e', probe]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([1000, 1000, '0000000000000000']);
  });

  it.skipIf(!canRun)('without a PTP clock says so, starts no chronyd, loads the addon and the config, then stops at the missing /dev/nsm', async () => {
    const result = await run(localStart('with-addon'), [], { timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no /dev/ptp0 (ptp_kvm); the enclave clock is not corrected'.replace('/dev/ptp0', path.join(root, 'with-addon', 'ptp0')));
    expect(existsSync(path.join(root, 'with-addon', 'chronyd.called'))).toBe(false);
    const fatal = result.stderr.split('\n').filter((line) => line.includes('"fatal"'));
    expect(fatal, result.stderr).toHaveLength(1);
    expect(JSON.parse(fatal[0]!)).toMatchObject({ event: 'fatal', code: 'ERR_NSM_UNAVAILABLE', message: 'cannot open NSM device /dev/nsm (ENOENT)' });
  });

  it.skipIf(!canRun)('with a PTP clock starts chronyd as root with the shipped config and its libraries, before the app', async () => {
    const base = path.join(root, 'with-ptp');
    const result = await run(localStart('with-ptp'), [], { timeoutMs: 30_000 });
    expect(result.stderr).toContain('chronyd started on');
    expect(readFileSync(path.join(base, 'chronyd.called'), 'utf8').trim()).toBe(`0 ${base}/app/chrony/lib -f ${base}/app/chrony.conf -u nobody`);
    expect(result.code).toBe(1); // then the app, which stops at the missing /dev/nsm
    expect(result.stderr).toContain('ERR_NSM_UNAVAILABLE');
  });

  it.skipIf(!canRun)('without the addon beside it, the same script names the missing addon (control)', async () => {
    const result = await run(localStart('without-addon'), [], { timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`native addon ${ADDON_FILE} not found`);
  });
});
