/**
 * What `enclavekit sim ssm` and `enclavekit sim secretsmanager` share: options, start, the printed
 * endpoint and AWS CLI line, and running until SIGINT/SIGTERM. Each service has its own port and
 * discovery file (DIR/ssm.json, DIR/secretsmanager.json) and trusts the KMS simulator's CA.
 */
import type { JsonService, JsonServiceOptions } from '../../../sim/json-service/server.js';
import { credentialsPath, loadCredentials } from '../../../sim/state.js';
import { untilStopped } from '../../until-stopped.js';
import { UsageError, parseOptions, required, runCli } from '../../args.js';

export interface StoreCommand {
  /** e.g. `ssm`: the subcommand and the discovery file name. */
  name: string;
  /** The AWS CLI service name and AWS_ENDPOINT_URL_<X> suffix, e.g. `ssm` / `SSM`. */
  cliService: string;
  endpointVariable: string;
  /** An example AWS CLI call, printed for the operator. */
  example: string;
  defaultPort: number;
  start(options: JsonServiceOptions): Promise<JsonService>;
}

export function usageOf(command: StoreCommand, summary: string): string {
  return `usage: enclavekit sim ${command.name} --state DIR [--port P] [--host 127.0.0.1] [--http] [--region R]

${summary}
Serves HTTPS with the KMS simulator's CA (trust DIR/kms/tls/ca.pem), SigV4 with DIR/credentials.json
and each principal's identityPolicies. Writes DIR/${command.name}.json {"endpoint", "region", "caFile"}.
Run \`enclavekit sim init --state DIR\` first.
  --state DIR   simulator state directory
  --port P      TCP port (default ${command.defaultPort}; 0 = any free port)
  --host H      bind address (default 127.0.0.1)
  --http        plain HTTP instead of HTTPS
  --region R    region of the endpoint (default: the state's region)
`;
}

export function runStoreCommand(command: StoreCommand, usage: string, args: string[]): Promise<number> {
  const prefix = `enclavekit sim ${command.name}`;
  return runCli(prefix, usage, args, async () => {
    const { values } = parseOptions(args, {
      state: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      http: { type: 'boolean' },
      region: { type: 'string' },
    });
    const stateDir = required(values.state, 'state');
    let port = command.defaultPort;
    if (values.port !== undefined) {
      if (!/^\d+$/.test(values.port) || Number(values.port) > 65_535) throw new UsageError('--port must be an integer in 0..65535');
      port = Number(values.port);
    }
    let sim: JsonService;
    try {
      sim = await command.start({ stateDir, port, host: values.host ?? '127.0.0.1', http: values.http === true, ...(values.region === undefined ? {} : { region: values.region }) });
    } catch (error) {
      const errno = error as NodeJS.ErrnoException;
      if (errno.syscall !== 'listen') throw error;
      process.stderr.write(`${prefix}: fatal: ${errno.message}\n`);
      return 1;
    }
    // Simulator-only keys: printing them is what makes the AWS CLI usable against the simulator.
    const principals = await loadCredentials(stateDir);
    const admin = principals.find((p) => p.arn.endsWith(':role/admin')) ?? principals[0];
    process.stdout.write(
      `endpoint: ${sim.endpoint}\n` +
        `region: ${sim.region}\n` +
        (sim.caFile === null ? '' : `ca file: ${sim.caFile}\n`) +
        `credentials: ${credentialsPath(stateDir)}\n` +
        `For the AWS CLI: ${command.endpointVariable}=${sim.endpoint}${sim.caFile === null ? '' : ` AWS_CA_BUNDLE=${sim.caFile}`} AWS_DEFAULT_REGION=${sim.region} AWS_REGION=${sim.region}` +
        (admin === undefined ? '' : ` AWS_ACCESS_KEY_ID=${admin.accessKeyId} AWS_SECRET_ACCESS_KEY=${admin.secretAccessKey}`) +
        ` aws ${command.cliService} ${command.example}\n`,
    );
    await untilStopped();
    await sim.close();
    return 0;
  });
}
