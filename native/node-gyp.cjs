#!/usr/bin/env node
/*
 * npm's own node-gyp, pointed at the headers of the running Node when they are installed with it.
 *
 * Why: without --nodedir, node-gyp downloads node-v<version>-headers.tar.gz from nodejs.org, which
 * fails on machines that reach only the npm registry (CI, build hosts, this project's dev boxes).
 * Official Node builds and distribution packages install the same headers under
 * <prefix>/include/node (node_api.h, common.gypi, config.gypi). node-gyp itself only uses them when
 * Node was built with `use_prefix_to_find_headers` (lib/configure.js), which official builds are not.
 *
 * Run it as the package's install script (`"install": "node native/node-gyp.cjs rebuild"`), which
 * replaces npm's implicit `node-gyp rebuild` for a package with a binding.gyp. A project .npmrc
 * `node-gyp=` setting does not help: npm 11 ignores it for the root package's own scripts.
 * Arguments pass through unchanged; --nodedir is added only when none was given.
 */
'use strict';

const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');

function nodeGypScript() {
  const candidates = [];
  // npm sets npm_execpath to its npm-cli.js; its bundled node-gyp sits in ../node_modules.
  if (process.env.npm_execpath) {
    candidates.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  candidates.push(path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package: the npm-bundled one above is the usual case
  }
  return candidates.find((candidate) => existsSync(candidate));
}

/** The install prefix whose include/node matches the running Node exactly, if any. */
function localHeadersPrefix() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const include = path.join(prefix, 'include', 'node');
  if (!existsSync(path.join(include, 'node_api.h')) || !existsSync(path.join(include, 'common.gypi'))) return undefined;
  let text;
  try {
    text = readFileSync(path.join(include, 'node_version.h'), 'utf8');
  } catch {
    return undefined;
  }
  const part = (name) => (new RegExp(`#define NODE_${name}_VERSION (\\d+)`).exec(text) ?? [])[1];
  const version = `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  return version === process.versions.node ? prefix : undefined;
}

const script = nodeGypScript();
if (script === undefined) {
  console.error('enclavekit: cannot find node-gyp (it ships with npm); run `npx node-gyp rebuild` by hand');
  process.exit(1);
}

const args = process.argv.slice(2);
const hasNodedir = args.some((a) => a === '--nodedir' || a.startsWith('--nodedir=')) || Boolean(process.env.npm_config_nodedir);
const prefix = hasNodedir ? undefined : localHeadersPrefix();
if (prefix !== undefined && args[0] !== undefined && ['rebuild', 'configure', 'build'].includes(args[0])) {
  args.push(`--nodedir=${prefix}`);
}

process.argv = [process.argv[0], script, ...args];
require(script);
