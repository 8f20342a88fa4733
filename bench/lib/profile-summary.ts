/**
 * Summarises V8 .cpuprofile files (node --cpu-prof; ENCLAVEKIT_BENCH_PROFILE=DIR for the bench
 * stack's children): self time by function and by package/file, idle and GC shown apart.
 *
 *   npx tsx bench/lib/profile-summary.ts FILE.cpuprofile [--top N]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  byFunction: [string, number][];
  byFile: [string, number][];
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  return url.replace(/^file:\/\/.*?\/(?=(?:enclave|parent|shared|sim|cli|build|bench|test)\/)/, '') || '(native)';
}

export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const where = shortUrl(frame.url);
    const name = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    const bucket = frame.url === '' ? frame.functionName : where;
    file.set(bucket, (file.get(bucket) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / 1000]);
  return { totalMs: total / 1000, idleMs: idle / 1000, byFunction: sorted(fn), byFile: sorted(file) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const top = Number(values.top);
  for (const path of positionals) {
    const summary = summarizeProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile);
    const busy = summary.totalMs - summary.idleMs;
    process.stdout.write(`\n${path}: ${summary.totalMs.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms busy\n  by file/package (self, % of busy):\n`);
    for (const [name, ms] of summary.byFile.slice(0, top)) process.stdout.write(`    ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(6)} ms  ${name}\n`);
    process.stdout.write('  by function (self):\n');
    for (const [name, ms] of summary.byFunction.slice(0, top)) process.stdout.write(`    ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(6)} ms  ${name}\n`);
  }
}
