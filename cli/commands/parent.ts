/**
 * `enclavekit parent --config FILE [--url-file FILE]`: the parent process (HTTP API, enclave
 * links, KMS tunnel proxy). `--url-file` receives the API URL once listening (port 0 picks one).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EnclaveKitError } from '../../shared/errors.js';
import { readJsonFile } from '../../shared/config/parse.js';
import { connectChannel, listenStreams } from '../../shared/transport/index.js';
import { parseParentConfig } from '../../parent/config.js';
import { startParent } from '../../parent/runtime.js';
import { cardRoutes } from '../../parent/http/routes/cards.js';
import { openApiRoutes } from '../../parent/http/routes/openapi.js';

const USAGE = 'usage: enclavekit parent --config FILE [--url-file FILE]\n';

export async function run(args: string[]): Promise<number> {
  let values: { config?: string | undefined; 'url-file'?: string | undefined };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string' }, 'url-file': { type: 'string' } }, strict: true }));
  } catch (error) {
    process.stderr.write(`enclavekit parent: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.config === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    const config = parseParentConfig(readJsonFile(values.config, 'parent config'));
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
