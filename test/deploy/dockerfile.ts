/**
 * A small Dockerfile reader for the deploy tests: enough of the Dockerfile reference
 * (https://docs.docker.com/reference/dockerfile/) to check Dockerfile.enclave without a Docker
 * engine. Handles comments, backslash continuations, global ARGs before the first FROM (and their
 * ${VAR} use in FROM), `FROM image AS name`, flags of COPY, and the exec (JSON) form of CMD and
 * ENTRYPOINT. Anything it does not understand is kept as a raw instruction, never guessed at.
 */

export interface Instruction {
  keyword: string;
  /** The text after the keyword, continuations joined with a space. */
  args: string;
  line: number;
}

export interface CopyInstruction {
  from: string | undefined;
  flags: Record<string, string>;
  sources: string[];
  dest: string;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Splits the text into instructions (comments dropped, continuations joined). */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (pending === undefined && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (pending !== undefined && trimmed.startsWith('#')) return; // comment lines inside a continuation
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    if (pending === undefined) pending = { parts: [], line: index + 1 };
    if (part !== '') pending.parts.push(part);
    if (!continued) {
      const joined = pending.parts.join(' ');
      const space = joined.search(/\s/);
      out.push({
        keyword: (space < 0 ? joined : joined.slice(0, space)).toUpperCase(),
        args: space < 0 ? '' : joined.slice(space + 1).trim(),
        line: pending.line,
      });
      pending = undefined;
    }
  });
  if (pending !== undefined) throw new Error('Dockerfile ends inside a line continuation');
  return out;
}

function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    const value = vars[name];
    if (value === undefined) throw new Error(`\${${name}} is not a global ARG with a default`);
    return value;
  });
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (m === null) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({ image: substitute(m[1]!, globalArgs), name: m[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`);
      const eq = instruction.args.indexOf('=');
      if (eq > 0) globalArgs[instruction.args.slice(0, eq)] = instruction.args.slice(eq + 1);
      continue;
    }
    stage.instructions.push(instruction);
  }
  return { globalArgs, stages };
}

export function parseCopy(instruction: Instruction): CopyInstruction {
  const words = instruction.args.split(/\s+/);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith('--') === true) {
    const flag = words.shift()!;
    const eq = flag.indexOf('=');
    flags[eq < 0 ? flag.slice(2) : flag.slice(2, eq)] = eq < 0 ? '' : flag.slice(eq + 1);
  }
  if (words.length < 2) throw new Error(`line ${instruction.line}: COPY needs a source and a destination`);
  return { from: flags.from, flags, sources: words.slice(0, -1), dest: words.at(-1)! };
}

/** The exec form (a JSON array of strings) of CMD / ENTRYPOINT; throws for the shell form. */
export function execForm(instruction: Instruction): string[] {
  const parsed: unknown = JSON.parse(instruction.args);
  if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string')) {
    throw new Error(`line ${instruction.line}: ${instruction.keyword} is not in exec form`);
  }
  return parsed as string[];
}
