/**
 * `enclavekit sim kms --state DIR …`: the KMS simulator (sim/kms). Runs until SIGINT/SIGTERM.
 * Prints the endpoint, region, CA file and credentials file; writes DIR/kms.json for programs.
 */
import { FAULTS_PATH, startKmsSimulator, type FaultSettings } from '../../../sim/kms/index.js';
import { isKmsErrorName } from '../../../sim/kms/errors.js';
import { credentialsPath } from '../../../sim/state.js';
import { UsageError, parseOptions, required, runCli } from '../../args.js';
import { untilStopped } from '../../until-stopped.js';
import { loadCredentials } from '../../../sim/state.js';

export const DEFAULT_KMS_PORT = 4443;

const USAGE = `usage: enclavekit sim kms --state DIR [--port P] [--host 127.0.0.1] [--http] [--region R]
                        [--quota N] [--rsa-quota N] [--ecc-quota N] [--latency-ms N] [--fail-rate F] [--fail-error NAME]
                        [--attestation-max-age-ms N]

Serves the AWS KMS JSON 1.1 protocol (SigV4 with DIR/credentials.json) over HTTPS, with a CA kept
in DIR/kms/tls/ (trust DIR/kms/tls/ca.pem). Keys persist in DIR/kms/. Writes DIR/kms.json
{"endpoint", "region", "caFile"}. Run \`enclavekit sim init --state DIR\` first.
  --state DIR                  simulator state directory
  --port P                     TCP port (default ${DEFAULT_KMS_PORT}; 0 = any free port)
  --host H                     bind address (default 127.0.0.1)
  --http                       plain HTTP instead of HTTPS
  --region R                   region of the endpoint (default: the state's region)
  --quota N                    requests per second with symmetric and HMAC keys before ThrottlingException (default 5500)
  --rsa-quota N                the same for RSA keys (default 500)
  --ecc-quota N                the same for ECC keys (default 300)
  --latency-ms N               delay added to every request, ms (default 0)
  --fail-rate F                fraction 0..1 of requests answered with --fail-error (default 0)
  --fail-error NAME            injected error (default KMSInternalException)
  --attestation-max-age-ms N   freshness window of Recipient attestation documents (default 300000)
Runtime changes: GET/POST <endpoint>${FAULTS_PATH} from loopback, e.g. {"failRate": 0.1}.
`;

function integer(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  return n;
}

export function run(args: string[]): Promise<number> {
  return runCli('enclavekit sim kms', USAGE, args, async () => {
    const { values } = parseOptions(args, {
      state: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      http: { type: 'boolean' },
      region: { type: 'string' },
      quota: { type: 'string' },
      'rsa-quota': { type: 'string' },
      'ecc-quota': { type: 'string' },
      'latency-ms': { type: 'string' },
      'fail-rate': { type: 'string' },
      'fail-error': { type: 'string' },
      'attestation-max-age-ms': { type: 'string' },
    });
    const stateDir = required(values.state, 'state');
    const faults: Partial<FaultSettings> = {};
    const quota = integer(values.quota, 'quota', 1, 1_000_000);
    if (quota !== undefined) faults.quotaPerSecond = quota;
    const rsaQuota = integer(values['rsa-quota'], 'rsa-quota', 1, 1_000_000);
    if (rsaQuota !== undefined) faults.rsaQuotaPerSecond = rsaQuota;
    const eccQuota = integer(values['ecc-quota'], 'ecc-quota', 1, 1_000_000);
    if (eccQuota !== undefined) faults.eccQuotaPerSecond = eccQuota;
    const latency = integer(values['latency-ms'], 'latency-ms', 0, 60_000);
    if (latency !== undefined) faults.latencyMs = latency;
    if (values['fail-rate'] !== undefined) {
      const rate = Number(values['fail-rate']);
      if (!(rate >= 0 && rate <= 1)) throw new UsageError('--fail-rate must be a number in 0..1');
      faults.failRate = rate;
    }
    if (values['fail-error'] !== undefined) {
      if (!isKmsErrorName(values['fail-error'])) throw new UsageError('--fail-error must be a KMS error name, e.g. KMSInternalException');
      faults.failError = values['fail-error'];
    }
    const maxAge = integer(values['attestation-max-age-ms'], 'attestation-max-age-ms', 1, 86_400_000);
    const port = integer(values.port, 'port', 0, 65_535) ?? DEFAULT_KMS_PORT;

    let sim: Awaited<ReturnType<typeof startKmsSimulator>>;
    try {
      sim = await startKmsSimulator({
        stateDir,
        port,
        host: values.host ?? '127.0.0.1',
        http: values.http === true,
        faults,
        ...(values.region === undefined ? {} : { region: values.region }),
        ...(maxAge === undefined ? {} : { attestationMaxAgeMs: maxAge }),
      });
    } catch (error) {
      // A taken or forbidden port: one line naming it (Node's message has the address), exit 1.
      const errno = error as NodeJS.ErrnoException;
      if (errno.syscall !== 'listen') throw error;
      process.stderr.write(`enclavekit sim kms: fatal: ${errno.message}\n`);
      return 1;
    }
    // Simulator-only keys: printing them is what makes the AWS CLI usable against the simulator.
    // AWS_DEFAULT_REGION is the variable the AWS CLI v1 reads (v2 also reads AWS_REGION).
    const principals = await loadCredentials(stateDir);
    const admin = principals.find((p) => p.arn.endsWith(':role/admin')) ?? principals[0];
    process.stdout.write(
      `endpoint: ${sim.endpoint}\n` +
        `region: ${sim.region}\n` +
        (sim.caFile === null ? '' : `ca file: ${sim.caFile}\n`) +
        `credentials: ${credentialsPath(stateDir)}\n` +
        `For the AWS CLI: AWS_ENDPOINT_URL_KMS=${sim.endpoint}${sim.caFile === null ? '' : ` AWS_CA_BUNDLE=${sim.caFile}`} AWS_DEFAULT_REGION=${sim.region} AWS_REGION=${sim.region}` +
        (admin === undefined ? '' : ` AWS_ACCESS_KEY_ID=${admin.accessKeyId} AWS_SECRET_ACCESS_KEY=${admin.secretAccessKey}`) +
        ` aws kms list-keys\n`,
    );

    await untilStopped();
    await sim.close();
    return 0;
  });
}
