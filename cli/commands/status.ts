/**
 * `enclavekit status [--url URL | --dev-json FILE]`: is the parent serving, and if not, why; after
 * a failed enclave boot the reason is the enclave's own (its error code and message, delivered over
 * the link before it exited). Exit 0 ready, 1 not ready or unreachable, 2 usage.
 */
import { readFileSync } from 'node:fs';
import { parseOptions, runCli } from '../args.js';

const USAGE = `usage: enclavekit status [--url http://127.0.0.1:8080] [--dev-json .enclavekit/dev.json]

Asks the parent's /readyz and prints the answer: ready, or why not (e.g. the last enclave boot's
error). With neither option, the dev stack's dev.json names the parent.
  --url URL        the parent's HTTP API
  --dev-json FILE  read parentUrl from this file (default .enclavekit/dev.json)
`;

export async function run(args: string[]): Promise<number> {
  return runCli('enclavekit status', USAGE, args, async () => {
    const { values } = parseOptions(args, { url: { type: 'string' }, 'dev-json': { type: 'string' }, help: { type: 'boolean', short: 'h' } });
    return await report(values.url, values['dev-json']);
  });
}

async function report(urlOption: string | undefined, devJson: string | undefined): Promise<number> {
  let url = urlOption;
  if (url === undefined) {
    const file = devJson ?? '.enclavekit/dev.json';
    try {
      url = (JSON.parse(readFileSync(file, 'utf8')) as { parentUrl?: unknown }).parentUrl as string | undefined;
    } catch {
      url = undefined;
    }
    if (typeof url !== 'string') {
      process.stderr.write(`enclavekit status: no parentUrl in ${file}; start the stack (npm start) or pass --url\n`);
      return 1;
    }
  }
  let response: Response;
  try {
    response = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(5_000) });
  } catch {
    process.stdout.write(`parent ${url}: unreachable\n`);
    return 1;
  }
  const body = (await response.json().catch(() => ({}))) as { ready?: unknown; error?: { code?: unknown; message?: unknown } };
  if (response.ok && body.ready === true) {
    process.stdout.write(`parent ${url}: ready (an enclave booted and loaded its keys)\n`);
    return 0;
  }
  const reason = typeof body.error?.message === 'string' ? body.error.message : `HTTP ${response.status}`;
  process.stdout.write(`parent ${url}: not ready: ${reason}\n`);
  return 1;
}
