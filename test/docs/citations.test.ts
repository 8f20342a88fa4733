/**
 * Comments cite `docs/<file>.md` by section ("docs/formats.md 1.3", "section 0 item 2", "library
 * traps"), by quoted heading or phrase ("docs/architecture.md \"Trust model\"") or by numbered item
 * ("docs/conventions.md item 8"). Every cited file must exist and hold what is cited, so a reader
 * of the repository can follow every reference.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SKIP = new Set(['node_modules', 'dist', 'build', '.git', 'vectors', '.enclavekit']);
const SOURCE = /\.(?:ts|mjs|cjs|js|md|yml|yaml|json|gyp|cc|h|Makefile)$|^Makefile$|^Dockerfile/;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(full, out);
    else if (SOURCE.test(entry.name)) out.push(full);
  }
  return out;
}

interface Citation {
  where: string;
  doc: string;
  /** Up to 90 characters after the citation, comment markers folded into spaces. */
  tail: string;
}

function citations(): Citation[] {
  const found: Citation[] = [];
  for (const file of sourceFiles(ROOT)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/docs\/([a-z][a-z0-9-]*)\.md/g)) {
      const end = (match.index ?? 0) + match[0].length;
      const tail = text.slice(end, end + 120).replace(/\s*\n\s*(?:\*|\/\/|#)?\s*/g, ' ').slice(0, 90);
      const line = text.slice(0, match.index).split('\n').length;
      found.push({ where: `${path.relative(ROOT, file)}:${line}`, doc: match[1] as string, tail });
    }
  }
  return found;
}

const all = citations();
const docText = (doc: string): string => readFileSync(path.join(ROOT, 'docs', `${doc}.md`), 'utf8');

/** Section numbers cited right after "docs/formats.md": "1.3", "section 0 item 2", "sections 0, 1.1, 1.3", "sections 0-3". */
export function formatsRefs(tail: string): { section: string; item?: number }[] {
  const head = /^[\s,:]*(?:sections?\s+)?(\d+(?:\.\d+)?(?:\s+item\s+\d+)?(?:(?:\s*,\s*|\s+and\s+|-)\d+(?:\.\d+)?(?!\s*(?:ms|bytes|KiB)))*)/.exec(tail);
  if (head === null) return [];
  const refs: { section: string; item?: number }[] = [];
  const range = /^(\d+)-(\d+)$/.exec(head[1]!.trim());
  if (range !== null) {
    for (let n = Number(range[1]); n <= Number(range[2]); n++) refs.push({ section: String(n) });
    return refs;
  }
  for (const part of head[1]!.split(/\s*,\s*|\s+and\s+/)) {
    const m = /^(\d+(?:\.\d+)?)(?:\s+item\s+(\d+))?/.exec(part.trim());
    if (m !== null) refs.push(m[2] === undefined ? { section: m[1]! } : { section: m[1]!, item: Number(m[2]) });
  }
  return refs;
}

function sectionBody(text: string, section: string): string | undefined {
  const marker = section.includes('.') ? '###' : '##';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${marker} ${section}${section.includes('.') ? ' ' : '. '}`));
  if (start < 0) return undefined;
  const rest = lines.slice(start + 1);
  const stop = rest.findIndex((l) => /^#{1,3} /.test(l) && (marker === '##' ? /^## /.test(l) : true));
  return rest.slice(0, stop < 0 ? undefined : stop).join('\n');
}

describe('docs cited in code', () => {
  it('finds citations to check (the scan is not empty)', () => {
    expect(all.filter((c) => c.doc === 'formats').length).toBeGreaterThan(20);
    expect(all.filter((c) => c.doc === 'architecture').length).toBeGreaterThan(10);
    expect(all.filter((c) => c.doc === 'conventions').length).toBeGreaterThan(5);
  });

  it('every cited docs/<file>.md exists', () => {
    const missing = all.filter((c) => !existsSync(path.join(ROOT, 'docs', `${c.doc}.md`))).map((c) => `${c.where}: docs/${c.doc}.md`);
    expect(missing).toEqual([]);
  });

  it('every cited section of docs/formats.md exists (headings N., N.M; numbered items of section 0; the library traps)', () => {
    const text = docText('formats');
    const broken: string[] = [];
    let checked = 0;
    for (const c of all.filter((x) => x.doc === 'formats')) {
      if (/^[\s,"]*(?:library traps|Traps)/i.test(c.tail)) {
        checked++;
        if (!/^## Traps in the libraries/m.test(text)) broken.push(`${c.where}: Traps`);
        continue;
      }
      for (const ref of formatsRefs(c.tail)) {
        checked++;
        const body = sectionBody(text, ref.section);
        if (body === undefined) broken.push(`${c.where}: section ${ref.section}`);
        else if (ref.item !== undefined && !new RegExp(`^${ref.item}\\. `, 'm').test(body)) broken.push(`${c.where}: section ${ref.section} item ${ref.item}`);
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(broken).toEqual([]);
  });

  it('every quoted heading or phrase cited from docs/architecture.md is in it', () => {
    const text = docText('architecture').replace(/\s+/g, ' ');
    const broken: string[] = [];
    let checked = 0;
    for (const c of all.filter((x) => x.doc === 'architecture')) {
      const quoted = /^\s*"([^"]+)"/.exec(c.tail)?.[1] ?? /^ trust model/i.exec(c.tail)?.[0].trim();
      if (quoted === undefined) continue;
      checked++;
      if (!text.toLowerCase().includes(quoted.toLowerCase())) broken.push(`${c.where}: "${quoted}"`);
    }
    expect(checked).toBeGreaterThan(10);
    expect(broken).toEqual([]);
    expect(docText('architecture')).toMatch(/^## Trust model$/m);
    expect(docText('architecture')).toMatch(/^## Wire protocol$/m);
  });

  it('every item cited from docs/conventions.md is a numbered item in it', () => {
    const text = docText('conventions');
    const broken: string[] = [];
    let checked = 0;
    for (const c of all.filter((x) => x.doc === 'conventions')) {
      const m = /^\s*items?\s+(\d+)(?:-(\d+))?/.exec(c.tail);
      if (m === null) continue;
      for (let n = Number(m[1]); n <= Number(m[2] ?? m[1]); n++) {
        checked++;
        if (!new RegExp(`^${n}\\. \\*\\*`, 'm').test(text)) broken.push(`${c.where}: item ${n}`);
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(broken).toEqual([]);
  });

  it('the section parser reads the citation forms the code uses', () => {
    expect(formatsRefs(' section 0 item 2; the')).toEqual([{ section: '0', item: 2 }]);
    expect(formatsRefs(' sections 0, 1.1, 1.3 and')).toEqual([{ section: '0' }, { section: '1.1' }, { section: '1.3' }]);
    expect(formatsRefs(' 1.1 and 1.3 x')).toEqual([{ section: '1.1' }, { section: '1.3' }]);
    expect(formatsRefs(' sections 0-3; the order')).toEqual([{ section: '0' }, { section: '1' }, { section: '2' }, { section: '3' }]);
    expect(formatsRefs(' 5.3, VERIFIED')).toEqual([{ section: '5.3' }]);
  });
});
