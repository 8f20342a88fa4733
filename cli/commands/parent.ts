/**
 * `enclavekit parent --config FILE [--url-file FILE]`: the parent process (HTTP API, enclave
 * links, KMS tunnel proxy). `--url-file` receives the API URL once listening (port 0 picks one).
 * SIGHUP re-reads FILE and moves to its `enclaves` list without a restart (docs/operations.md,
 * "Updating the enclave without downtime"). Any fatal failure ends the process with exit code 1 and
 * one line naming the cause, so a supervisor (systemd, `enclavekit dev`) sees it and restarts.
 */
import { writeFile } from 'node:fs/promises';
import { EnclaveKitError } from '../../shared/errors.js';
import { UsageError, parseOptions, wantsHelp } from '../args.js';
import { loadConfigFile } from '../../shared/config/parse.js';
import { connectChannel, listenStreams } from '../../shared/transport/index.js';
import { parseParentConfig } from '../../parent/config.js';
import { startParent } from '../../parent/runtime.js';
import { cardRoutes } from '../../parent/http/routes/cards.js';
import { openApiRoutes } from '../../parent/http/routes/openapi.js';
import type { EnclavePool } from '../../parent/enclave-pool.js';
import type { Route } from '../../parent/http/server.js';
import { exitWithSupervisor } from '../../shared/lifecycle/supervised.js';

const USAGE = `usage: enclavekit parent --config FILE [--url-file FILE]

Runs the parent: the HTTP API, the links to the enclaves and the KMS tunnel proxy, until SIGINT
or SIGTERM. The config file's fields are in docs/config.md.
  --config FILE     parent config (JSON)
  --url-file FILE   write the API URL here once listening (useful with http.port 0)
`;

function describe(error: unknown): string {
  if (error instanceof EnclaveKitError) return `${error.code}: ${error.message}`;
  const e = error as NodeJS.ErrnoException;
  // Node's listen errors name the address (EADDRINUSE 127.0.0.1:8080), which is the cause to show.
  return e?.message ?? String(error);
}

/** `extraRoutes`: your own routes beside the built-in ones (docs/api.md "Custom handlers", parent side). */
export async function run(args: string[], extraRoutes?: (gateway: EnclavePool) => Route[]): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(USAGE);
    return 0;
  }
  let values: { config?: string | undefined; 'url-file'?: string | undefined };
  try {
    ({ values } = parseOptions(args, { config: { type: 'string' }, 'url-file': { type: 'string' } }));
    if (values.config === undefined) throw new UsageError('--config is required');
  } catch (error) {
    process.stderr.write(`enclavekit parent: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const configFile = values.config;
  let fatal: ((reason: string) => void) | undefined;
  const stopped = new Promise<string | undefined>((resolve) => {
    fatal = resolve;
    process.once('SIGTERM', () => resolve(undefined));
    process.once('SIGINT', () => resolve(undefined));
  });
  exitWithSupervisor(() => fatal?.('the supervising process is gone'));
  // SIGHUP's default action ends the process: a reload sent while the parent starts or stops
  // (systemd's ExecReload, an operator's kill -HUP) must never do that. Until the parent is up,
  // the latest one waits and is applied once it is.
  let hangupBeforeStart = false;
  let onHangup = (): void => {
    hangupBeforeStart = true;
  };
  const hangup = (): void => onHangup();
  process.on('SIGHUP', hangup);
  try {
    const { config } = loadConfigFile(configFile, 'parent config', parseParentConfig);
    const parent = await startParent({
      config,
      connectChannel: (url) => connectChannel(url),
      listenStreams: (url, onStream) => listenStreams(url, onStream),
      extraRoutes: (gateway) => [...cardRoutes(gateway), ...openApiRoutes(), ...(extraRoutes?.(gateway) ?? [])],
      onFatal: (error, what) => fatal?.(`${what} failed: ${describe(error)}`),
    });
    if (values['url-file'] !== undefined) await writeFile(values['url-file'], `${parent.url}\n`);
    onHangup = (): void => {
      try {
        const { config: next } = loadConfigFile(configFile, 'parent config', parseParentConfig);
        parent.logger.info('config-reload', { enclaves: next.enclaves.join(','), note: 'only the enclaves list is applied without a restart' });
        void parent.setEnclaves(next.enclaves).then(
          (r) => parent.logger.info('config-reloaded', { added: r.added.join(','), drained: r.drained.join(','), kept: r.kept.join(',') }),
          (error: unknown) => parent.logger.error('config-reload-failed', { reason: describe(error) }),
        );
      } catch (error) {
        // A bad file on reload keeps the running configuration: the API stays up.
        parent.logger.error('config-reload-failed', { reason: describe(error) });
      }
    };
    if (hangupBeforeStart) onHangup();
    const reason = await stopped;
    onHangup = () => undefined;
    await parent.close();
    if (reason !== undefined) {
      process.stderr.write(`enclavekit parent: fatal: ${reason}\n`);
      return 1;
    }
    return 0;
  } catch (error) {
    process.stderr.write(`enclavekit parent: fatal: ${describe(error)}\n`);
    return 1;
  }
}
