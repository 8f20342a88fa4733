/**
 * Every example of docs/api.md and README.md runs against a default `npm start` (`enclavekit dev`,
 * started here on a free port with its files in a temporary directory), or is listed below with
 * the test that covers it or the reason it cannot run here. A new fenced block that is neither
 * fails the test, so a doc change cannot add an example nobody runs.
 * - Every block runs in one temporary directory laid out as the docs assume (test/helpers/
 *   doc-workdir.ts: `.enclavekit/`, `examples/`, this package installed), so the files the blocks
 *   write (`rsa-key.der`, `card.json`, ...) stay there; the repository is checked unchanged.
 * - `sh` blocks run in order in bash (`set -euo pipefail`); the variables earlier blocks assign
 *   are assigned again first. A `# output` comment after a command must match the start of what
 *   the block printed (tokens and digests differ per run).
 * - `js`/`ts` blocks run as files there (`enclavekit/client` resolves to the built package), with
 *   only the set-up named in the doc's text around them, and their result checked.
 * The test replaces only `http://127.0.0.1:8080`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { ensureBuilt, REPO_ROOT } from '../helpers/built.js';
import { startDevStack, type DevRun } from '../helpers/dev-stack.js';
import { docWorkdir, repositoryChanges, type DocWorkdir } from '../helpers/doc-workdir.js';
import { OPENSSL_AVAILABLE } from '../helpers/openssl.js';

const execFileAsync = promisify(execFile);

export interface FencedBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
}

export function fencedBlocks(markdown: string, file: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i]!);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    blocks.push({ file, line: start + 1, lang: open[1]!, code: `${body.join('\n')}\n` });
  }
  return blocks;
}

/** Shell lines with their `\` continuations joined. */
function logicalLines(code: string): string[] {
  return code.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

const ASSIGNMENT = /^[A-Z_][A-Z0-9_]*=/;

const apiMd = readFileSync(path.join(REPO_ROOT, 'docs/api.md'), 'utf8');
const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const apiBlocks = fencedBlocks(apiMd, 'docs/api.md');
const readmeBlocks = fencedBlocks(readme, 'README.md');

/** Blocks other tests run, or that cannot run against the dev stack, each with why. */
const COVERED_ELSEWHERE: { file: string; contains: string; why: string }[] = [
  { file: 'README.md', contains: 'npm ci', why: 'the quick start: test/cli/readme.test.ts runs it against npm start' },
  { file: 'README.md', contains: 'npm test', why: 'the quick start: test/cli/readme.test.ts' },
  { file: 'README.md', contains: 'curl -s http://127.0.0.1:8080/readyz', why: 'the quick start: test/cli/readme.test.ts' },
  { file: 'README.md', contains: 'node examples/tokenize-card.mjs', why: 'the quick start: test/cli/readme.test.ts and test/e2e/dev.test.ts' },
  { file: 'README.md', contains: 'HTTP/JSON + bearer', why: 'a diagram, not a command' },
  { file: 'README.md', contains: 'make eif', why: 'deployment: needs Docker, nitro-cli and a Nitro host (test/deploy/ runs these targets against fakes)' },
  { file: 'docs/api.md', contains: "op: 'acme.pii-score'", why: 'the custom handler: test/e2e/cards-handlers.test.ts compiles and runs exactly this code' },
  { file: 'docs/api.md', contains: 'registerPiiScore(registry, sealedInputContext', why: 'an excerpt of the enclave entry point that registers the handler above (needs its own enclave build)' },
  { file: 'docs/api.md', contains: "path: '/v1/acme/pii-score'", why: 'an excerpt of the parent entry point for that handler (needs its own parent build)' },
];

let dir = '';
let work: DocWorkdir;
let devJsonFile = '';
let dev: {
  parentUrl: string;
  apiToken: string;
  kms: { endpoint: string; region: string; caFile: string | null; keyArn: string; rsaKeyArn: string; clientCredentials: { accessKeyId: string; secretAccessKey: string } };
};
let run: DevRun<typeof dev> | undefined;
let repositoryBefore = '';

/** The kmsRsa shell blocks need the AWS CLI and OpenSSL; without them they are skipped, saying so. */
const AWS_CLI_AVAILABLE = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;
const RSA_TOOLS = AWS_CLI_AVAILABLE && OPENSSL_AVAILABLE;
if (!RSA_TOOLS) console.warn('doc examples: no aws or openssl on PATH, the kmsRsa shell blocks are skipped');
const needsRsaTools = (block: FencedBlock): boolean => /\b(aws|openssl) |rsa-key\.der/.test(block.code);

function localise(text: string): string {
  return text.replaceAll('http://127.0.0.1:8080', dev.parentUrl);
}

function env(): NodeJS.ProcessEnv {
  return work.env({
    ENCLAVEKIT_DEV_JSON: devJsonFile,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // What docs/api.md says points the AWS SDK and the AWS CLI at the simulator.
    AWS_ENDPOINT_URL_KMS: dev.kms.endpoint,
    ...(dev.kms.caFile === null ? {} : { NODE_EXTRA_CA_CERTS: dev.kms.caFile, AWS_CA_BUNDLE: dev.kms.caFile }),
    AWS_DEFAULT_REGION: dev.kms.region,
    AWS_ACCESS_KEY_ID: dev.kms.clientCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: dev.kms.clientCredentials.secretAccessKey,
    // No profile or config of whoever runs the tests may steer the AWS CLI.
    AWS_CONFIG_FILE: path.join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-aws-credentials'),
  });
}

async function runCode(block: FencedBlock, prelude: string, epilogue: string, args: string[] = []): Promise<string> {
  const file = path.join(work.cwd, `${path.basename(block.file, '.md')}-${block.line}.${block.lang === 'ts' ? 'mts' : 'mjs'}`);
  writeFileSync(file, `${prelude}\n${localise(block.code)}\n${epilogue}\n`);
  const argv = block.lang === 'ts' ? [path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), file, ...args] : [file, ...args];
  const { stdout } = await execFileAsync(process.execPath, argv, { cwd: work.cwd, env: env(), timeout: 60_000 }).catch((error: { stderr?: string }) => {
    throw new Error(`${block.file}:${block.line} failed:\n${error.stderr ?? ''}`);
  });
  return stdout;
}

async function runShell(block: FencedBlock, before: readonly FencedBlock[]): Promise<string> {
  const assignments = before.flatMap((b) => logicalLines(b.code).filter((l) => ASSIGNMENT.test(l)));
  const script = ['set -euo pipefail', ...assignments, ...logicalLines(block.code).filter((l) => !l.startsWith('#'))].map(localise).join('\n');
  const { stdout } = await execFileAsync('bash', ['-c', script], { cwd: work.cwd, env: env(), timeout: 120_000 }).catch((error: { stderr?: string }) => {
    throw new Error(`${block.file}:${block.line} failed:\n${error.stderr ?? ''}`);
  });
  return stdout;
}

/** The `# …` comments that follow commands in a shell block (the output the doc promises). */
function promisedOutputs(block: FencedBlock): string[] {
  const out: string[] = [];
  let afterCommand = false;
  for (const line of logicalLines(block.code)) {
    if (line.startsWith('#')) {
      if (afterCommand) out.push(line.slice(1).trim());
      afterCommand = false;
    } else afterCommand = true;
  }
  return out;
}

beforeAll(async () => {
  ensureBuilt();
  if (!existsSync(path.join(REPO_ROOT, 'dist/lib/client/index.js'))) {
    await execFileAsync(process.execPath, ['scripts/build-lib.mjs'], { cwd: REPO_ROOT, timeout: 120_000 });
  }
  repositoryBefore = repositoryChanges();
  dir = await mkdtemp(path.join(tmpdir(), 'ek-examples-'));
  work = docWorkdir(dir);
  run = await startDevStack<typeof dev>(dir, ['--no-isolation']);
  ({ devJsonFile, dev } = run);
}, 150_000);

afterAll(async () => {
  await run?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const find = (contains: string): FencedBlock => {
  const found = apiBlocks.filter((b) => b.code.includes(contains));
  expect(found, `exactly one docs/api.md block contains ${contains}`).toHaveLength(1);
  return found[0]!;
};
const ESDK_BLOCK = 'new KmsKeyringNode({ generatorKeyId: cardKeyArn';
const HPKE_BLOCK = 'await sealCardForEnclave(';
const OPEN_BLOCK = 'await openDetokenized(answer';
const SEALED_SHAPES = '{"esdk": "<base64 AWS Encryption SDK message>"}';
const REDACTED = '"counts": {"email": 1';
const PUBLIC_SUBMISSION = '"publicSubmission": { "enabled": true';
const KMS_RSA_SEALER = 'new KmsRsaSealer(publicKeyDer)';

async function post(pathname: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${dev.parentUrl}${pathname}`, { method: 'POST', headers: { authorization: `Bearer ${dev.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('the examples of docs/api.md and README.md', () => {
  it('are each run here or listed with the test that covers them or why they cannot run', () => {
    const runHere = [ESDK_BLOCK, HPKE_BLOCK, OPEN_BLOCK, SEALED_SHAPES, REDACTED, PUBLIC_SUBMISSION, KMS_RSA_SEALER];
    const unaccounted = [...apiBlocks, ...readmeBlocks].filter(
      (b) => !(b.file === 'docs/api.md' && b.lang === 'sh') && !runHere.some((c) => b.file === 'docs/api.md' && b.code.includes(c)) && !COVERED_ELSEWHERE.some((c) => c.file === b.file && b.code.includes(c.contains)),
    );
    expect(unaccounted.map((b) => `${b.file}:${b.line}`)).toEqual([]);
    for (const c of COVERED_ELSEWHERE) expect([...apiBlocks, ...readmeBlocks].some((b) => b.file === c.file && b.code.includes(c.contains)), `${c.file}: ${c.contains} (${c.why})`).toBe(true);
  });

  it('docs/api.md: every shell block, in order, prints what the doc promises', async () => {
    const shell = apiBlocks.filter((b) => b.lang === 'sh' && !COVERED_ELSEWHERE.some((c) => c.file === b.file && b.code.includes(c.contains)) && (RSA_TOOLS || !needsRsaTools(b)));
    expect(shell.length).toBeGreaterThanOrEqual(RSA_TOOLS ? 10 : 7);
    const pinned = (JSON.parse(readFileSync(path.join(dir, '.enclavekit', 'run', 'enclave.json'), 'utf8')) as { cards: { rsaKey: { keyArn: string; publicKeySha256: string } } }).cards.rsaKey;
    for (const [i, block] of shell.entries()) {
      const stdout = await runShell(block, shell.slice(0, i));
      const promised = promisedOutputs(block);
      for (const p of promised) expect(stdout, `${block.file}:${block.line}`).toContain(p.slice(0, 12));
      // curl exits 0 on an HTTP error: an error is only right where the doc shows one.
      if (!promised.some((p) => p.includes('"error"'))) expect(stdout, `${block.file}:${block.line}`).not.toContain('"error"');
      if (block.code.includes('/v1/pii/redact')) {
        // The answer is exactly the JSON the doc shows above the command.
        expect(JSON.parse(stdout)).toEqual(JSON.parse(find(REDACTED).code));
      }
      if (block.code.includes('/v1/pii/blind-index')) {
        const { results } = JSON.parse(stdout) as { results: { digest: string }[] };
        expect(results[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
        expect(results[1]!.digest).toBe(results[0]!.digest);
      }
      if (block.code.includes('aws kms get-public-key')) {
        // The producer's GetPublicKey gives the key the dev stack pinned in the enclave config.
        expect(pinned.keyArn).toBe(dev.kms.rsaKeyArn);
        expect(stdout.trim()).toBe(pinned.publicKeySha256);
      }
      if (block.code.includes('enclavekit seal --kms-public-key')) {
        const [card, ssn, ...rest] = stdout.trim().split('\n');
        expect(rest).toEqual([]);
        expect(await post('/v1/cards/tokenize', { card: { kmsRsa: card } })).toMatchObject({ status: 200, json: { last4: '1111' } });
        expect((await post('/v1/pii/blind-index', { field: 'ssn', values: [{ kmsRsa: ssn }] })).json.results[0].digest).toMatch(/^[0-9a-f]{64}$/);
      }
      if (block.code.includes('/v1/cards/tokenize-batch')) {
        const { results } = JSON.parse(stdout) as { results: Record<string, unknown>[] };
        expect(results[0]).toMatchObject({ last4: '4444' });
        expect(results[1]).toMatchObject({ error: { code: 'ERR_DECRYPT_FAILED' } });
      }
    }
  }, 300_000);

  it.skipIf(!RSA_TOOLS)('docs/api.md: KmsRsaSealer seals a batch to the public key the shell blocks fetched, and the stack tokenizes it', async () => {
    const out = JSON.parse(
      await runCode(
        find(KMS_RSA_SEALER),
        "const publicKeyDer = (await import('node:fs')).readFileSync('rsa-key.der');\nconst batch = [{ pan: '4111111111111111', exp: '12/30' }, { pan: '5555555555554444', exp: '01/29' }];",
        "const __dev = JSON.parse((await import('node:fs')).readFileSync(process.env.ENCLAVEKIT_DEV_JSON, 'utf8'));\nconst __res = await fetch(`${__dev.parentUrl}/v1/cards/tokenize-batch`, { method: 'POST', headers: { authorization: `Bearer ${__dev.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ cards }) });\nconsole.log(JSON.stringify({ status: __res.status, body: await __res.json() }));",
      ),
    ) as { status: number; body: { results: { last4?: string }[] } };
    expect(out).toMatchObject({ status: 200, body: { results: [{ last4: '1111' }, { last4: '4444' }] } });
  }, 120_000);

  it('docs/api.md: the ESDK producer seals a card the stack tokenizes; the HPKE sealing example too; the recipient opens detokenize-to', async () => {
    const esdk = JSON.parse(
      await runCode(
        find(ESDK_BLOCK),
        "const __dev = JSON.parse((await import('node:fs')).readFileSync(process.env.ENCLAVEKIT_DEV_JSON, 'utf8'));\nconst region = __dev.kms.region;\nconst cardKeyArn = __dev.kms.keyArn;\nconst pan = '4111111111111111';",
        "const __res = await fetch(`${__dev.parentUrl}/v1/cards/tokenize`, { method: 'POST', headers: { authorization: `Bearer ${__dev.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ card: sealed }) });\nconsole.log(JSON.stringify({ status: __res.status, body: await __res.json() }));",
      ),
    ) as { status: number; body: { token: string; last4: string } };
    expect(esdk).toMatchObject({ status: 200, body: { last4: '1111' } });

    const hpke = JSON.parse(
      await runCode(
        find(HPKE_BLOCK),
        '',
        "const __res = await fetch(`${dev.parentUrl}/v1/cards/tokenize`, { method: 'POST', headers: { authorization: `Bearer ${dev.apiToken}`, 'content-type': 'application/json' }, body });\nconsole.log(JSON.stringify({ status: __res.status, body: await __res.json() }));",
      ),
    ) as { status: number; body: { token: string } };
    // The same card, sealed another way: the same token.
    expect(hpke).toEqual({ status: 200, body: esdk.body });

    const opened = JSON.parse(await runCode(find(OPEN_BLOCK), '', 'console.log(JSON.stringify({ pan }));', [esdk.body.token])) as { pan: string };
    expect(opened.pan).toBe('4111111111111111');
  }, 180_000);

  it('docs/api.md: the JSON shapes parse, and the public submission fragment is a valid enclave config', () => {
    for (const line of logicalLines(find(SEALED_SHAPES).code)) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    const fragment = JSON.parse(`{${find(PUBLIC_SUBMISSION).code}}`) as { cards: Record<string, unknown> };
    const config = parseEnclaveConfig({ kms: { region: 'us-east-1' }, cards: { cardKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000', ...fragment.cards } });
    expect(config.cards?.publicSubmission.enabled).toBe(true);
  });

  // Last: every block above ran in the scratch directory, none wrote into the repository.
  it('leave the repository as it was (no file written or changed there)', () => {
    expect(repositoryChanges()).toBe(repositoryBefore);
  });
});
