/** docs/config.md lists every field of the enclave and parent config schemas, with its default, both ways. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { enclaveConfigSchema } from '../../enclave/config.js';
import { parentConfigSchema } from '../../parent/config.js';
import { configFields } from './config-schema.js';

const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');

/** The rows of the table under the `## <heading>` section: field path → default column. */
function documented(heading: string): Map<string, string> {
  const section = doc.split(/^## /m).find((s) => s.startsWith(heading));
  expect(section, `docs/config.md has a "## ${heading}" section`).toBeDefined();
  const rows = new Map<string, string>();
  for (const line of section!.split('\n')) {
    const m = /^\| `([^`]+)` \| `([^`]+)` \| (.+) \|$/.exec(line);
    if (m === null) continue;
    expect(rows.has(m[1]!), `${m[1]} documented twice`).toBe(false);
    expect(m[3]!.trim().length, `${m[1]} has a meaning`).toBeGreaterThan(3);
    rows.set(m[1]!, m[2]!);
  }
  return rows;
}

describe('docs/config.md and the config schemas', () => {
  it.each([
    ['Enclave', enclaveConfigSchema],
    ['Parent', parentConfigSchema],
  ] as const)('%s: every schema field is documented with its default, and every documented field exists', (heading, schema) => {
    const fields = configFields(schema);
    expect(fields.length).toBeGreaterThan(10);
    const rows = documented(heading);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(fields.map((f) => [f.path, f.default])));
  });
});
