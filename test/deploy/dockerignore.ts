/**
 * .dockerignore evaluation for the deploy tests, after the Docker documentation ("Build context",
 * .dockerignore files): patterns are matched with Go's filepath.Match rules plus `**` (any number
 * of directories), against the path and each of its parent directories; a `!` pattern re-includes;
 * the last matching pattern wins. Enough for the patterns this repository uses.
 */

interface Rule {
  exclude: boolean;
  pattern: RegExp;
}

function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more directories; a trailing `**` matches everything below.
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

export function parseDockerignore(text: string): Rule[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const exclude = !line.startsWith('!');
      const body = (exclude ? line : line.slice(1)).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { exclude, pattern: globToRegExp(body) };
    });
}

/** Whether `file` (relative, `/`-separated) is sent to the Docker daemon in the build context. */
export function admitted(rules: readonly Rule[], file: string): boolean {
  const parts = file.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.pattern.test(candidate))) excluded = rule.exclude;
  }
  return !excluded;
}
