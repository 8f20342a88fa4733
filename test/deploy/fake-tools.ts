/**
 * Stand-ins for nitro-cli and docker, for testing the Makefile and deploy/bin/enclavekit-enclave on
 * machines without them. Each records its argv (one JSON line per call) in CALLS and answers
 * like the real tool where the scripts read the answer:
 * - `nitro-cli build-enclave` writes the output file and prints its progress on stderr and the
 *   measurements JSON on stdout (aws-nitro-enclaves-cli src/lib.rs, build_from_docker);
 * - `nitro-cli run-enclave` records the enclave in STATE (name, id, State RUNNING);
 *   `describe-enclaves` prints STATE as the JSON array nitro-cli prints; `terminate-enclave
 *   --enclave-id ID` removes it; `console --enclave-id ID` connects to a recorded enclave;
 * - `nitro-cli --version` prints a version line;
 * - `docker image inspect` succeeds (with `--format`, prints an image id); `docker info` answers only
 *   when FAKE_DOCKER_DAEMON=1; `docker buildx` exists only when FAKE_BUILDX=1: `buildx inspect NAME`
 *   prints the builder recorded in BUILDERS (Driver and the image driver option, as buildx prints
 *   them), `buildx create` records one, `buildx build` succeeds; other docker calls fail.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const FAKE_PCRS = {
  PCR0: 'a1'.repeat(48),
  PCR1: 'b2'.repeat(48),
  PCR2: 'c3'.repeat(48),
};

const NITRO_CLI = `#!/usr/bin/env node
const fs = require('node:fs');
const argv = process.argv.slice(2);
const dir = process.env.FAKE_TOOLS_DIR;
fs.appendFileSync(dir + '/calls', JSON.stringify(['nitro-cli', ...argv]) + '\\n');
const stateFile = dir + '/state.json';
const state = fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, 'utf8')) : [];
// Written to a temporary name and renamed, so a test reading the state never sees a half-written file.
const save = () => { fs.writeFileSync(stateFile + '.tmp', JSON.stringify(state, null, 2)); fs.renameSync(stateFile + '.tmp', stateFile); };
const opt = (name) => argv[argv.indexOf(name) + 1];
switch (argv[0]) {
  case '--version':
    process.stdout.write('Nitro CLI 1.4.2\\n');
    break;
  case 'build-enclave':
    process.stderr.write('Start building the Enclave Image...\\nUsing the locally available Docker image...\\n');
    fs.writeFileSync(opt('--output-file'), 'EIF');
    process.stderr.write('Enclave Image successfully created.\\n');
    process.stdout.write(JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', ...${JSON.stringify(FAKE_PCRS)} } }, null, 2) + '\\n');
    break;
  case 'run-enclave': {
    const cid = Number(opt('--enclave-cid'));
    state.push({ EnclaveName: opt('--enclave-name'), EnclaveID: 'i-0123456789abcdef0-enc' + cid.toString(16).padStart(16, '0'), EnclaveCID: cid, State: 'RUNNING', Flags: argv.includes('--debug-mode') ? 'DEBUG_MODE' : 'NONE' });
    save();
    process.stdout.write(JSON.stringify(state.at(-1), null, 2) + '\\n');
    break;
  }
  case 'describe-enclaves':
    process.stdout.write(JSON.stringify(state, null, 2) + '\\n');
    break;
  case 'terminate-enclave': {
    const index = state.findIndex((e) => e.EnclaveID === opt('--enclave-id'));
    if (index < 0) { process.stderr.write('no such enclave\\n'); process.exit(1); }
    state.splice(index, 1);
    save();
    break;
  }
  case 'console':
    if (!state.some((e) => e.EnclaveID === opt('--enclave-id'))) { process.stderr.write('no such enclave\\n'); process.exit(1); }
    process.stdout.write('Successfully connected to the console.\\n');
    break;
  default:
    process.stderr.write('fake nitro-cli: unsupported ' + argv[0] + '\\n');
    process.exit(1);
}
`;

const DOCKER = `#!/usr/bin/env node
const fs = require('node:fs');
const argv = process.argv.slice(2);
const dir = process.env.FAKE_TOOLS_DIR;
fs.appendFileSync(dir + '/calls', JSON.stringify(['docker', ...argv]) + '\\n');
const buildersFile = dir + '/builders.json';
const builders = fs.existsSync(buildersFile) ? JSON.parse(fs.readFileSync(buildersFile, 'utf8')) : {};
const opt = (name) => argv[argv.indexOf(name) + 1];
if (argv[0] === 'image' && argv[1] === 'inspect') {
  if (argv.includes('--format')) process.stdout.write('sha256:' + 'd4'.repeat(32) + '\\n');
  process.exit(0);
}
if (argv[0] === 'info') process.exit(process.env.FAKE_DOCKER_DAEMON === '1' ? 0 : 1);
if (argv[0] === 'buildx' && process.env.FAKE_BUILDX === '1') {
  switch (argv[1]) {
    case 'version':
      process.stdout.write('github.com/docker/buildx v0.30.1\\n');
      process.exit(0);
    case 'inspect': {
      const b = builders[argv[2]];
      if (b === undefined) { process.stderr.write('ERROR: no builder ' + argv[2] + ' found\\n'); process.exit(1); }
      process.stdout.write('Name:          ' + argv[2] + '\\nDriver:        ' + b.driver + '\\n\\nNodes:\\nName:                  ' + argv[2] + '0\\nDriver Options:        image="' + b.image + '"\\n');
      process.exit(0);
    }
    case 'create': {
      const image = (opt('--driver-opt') || '').replace(/^image=/, '');
      builders[opt('--name')] = { driver: opt('--driver'), image };
      fs.writeFileSync(buildersFile, JSON.stringify(builders));
      process.exit(0);
    }
    case 'build':
      process.exit(0);
  }
}
process.exit(1);
`;

/** Writes the fakes into DIR/bin; returns that bin directory. */
export function installFakeTools(dir: string, tools: readonly ('nitro-cli' | 'docker')[]): string {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const tool of tools) {
    const file = path.join(bin, tool);
    writeFileSync(file, tool === 'docker' ? DOCKER : NITRO_CLI);
    chmodSync(file, 0o755);
  }
  return bin;
}
