/**
 * `enclavekit parent --config FILE [--url-file FILE]`: the parent process (HTTP API, enclave
 * links, KMS tunnel proxy). `--url-file` receives the API URL once listening (port 0 picks one).
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

const USAGE = `usage: enclavekit parent --config FILE [--url-file FILE]

Runs the parent: the HTTP API, the links to the enclaves and the KMS tunnel proxy, until SIGINT
or SIGTERM. The config file's fields are in docs/config.md.
  --config FILE     parent config (JSON)
  --url-file FILE   write the API URL here once listening (useful with http.port 0)
`;

export async function run(args: string[]): Promise<number> {
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
  try {
    const { config } = loadConfigFile(values.config, 'parent config', parseParentConfig);
    const parent = await startParent({
      config,
      connectChannel: (url) => connectChannel(url),
      listenStreams: (url, onStream) => listenStreams(url, onStream),
      extraRoutes: (gateway) => [...cardRoutes(gateway), ...openApiRoutes()],
    });
    if (values['url-file'] !== undefined) await writeFile(values['url-file'], `${parent.url}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await parent.close();
    return 0;
  } catch (error) {
    const message = error instanceof EnclaveKitError ? `${error.code}: ${error.message}` : (error as Error).message;
    process.stderr.write(`enclavekit parent: ${message}\n`);
    return 1;
  }
}
