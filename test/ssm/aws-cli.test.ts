/**
 * The AWS CLI (Debian `awscli`) against the SSM and Secrets Manager simulators: put and read a
 * SecureString, page a path, create and read a secret. Skipped, with the reason printed, when no
 * `aws` binary is on PATH (a fresh CI machine without the package).
 */
import { execFile } from 'node:child_process';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startStores, type StoresHarness } from './harness.js';

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

const probe = await run('aws', ['--version'], process.env).catch(() => ({ code: 127, stdout: '', stderr: '' }));
const haveAws = probe.code === 0;
if (!haveAws) process.stdout.write('test/ssm/aws-cli.test.ts: skipped: no `aws` binary on PATH (apt-get install awscli)\n');

describe.skipIf(!haveAws)('the AWS CLI against the simulators', () => {
  let h: StoresHarness;
  let env: NodeJS.ProcessEnv;
  let keyArn: string;

  beforeAll(async () => {
    h = await startStores();
    keyArn = (await h.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    env = {
      PATH: process.env['PATH'],
      HOME: h.dir,
      AWS_CONFIG_FILE: `${h.dir}/no-aws-config`,
      AWS_SHARED_CREDENTIALS_FILE: `${h.dir}/no-aws-credentials`,
      AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
      AWS_DEFAULT_REGION: h.ssm.region,
      AWS_REGION: h.ssm.region,
      AWS_CA_BUNDLE: h.ssm.caFile!,
      AWS_MAX_ATTEMPTS: '1',
    };
  });
  afterAll(async () => {
    await h?.close();
  });

  const aws = async (endpoint: string, args: string[]): Promise<unknown> => {
    const out = await run('aws', ['--endpoint-url', endpoint, '--output', 'json', ...args], env);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    return out.stdout.trim() === '' ? {} : JSON.parse(out.stdout);
  };

  it('puts a SecureString and reads it back decrypted, and pages a path', async () => {
    const ssm = h.ssm.endpoint;
    expect(await aws(ssm, ['ssm', 'put-parameter', '--name', '/cli/db-password', '--value', 'hunter2', '--type', 'SecureString', '--key-id', keyArn])).toMatchObject({ Version: 1, Tier: 'Standard' });
    await aws(ssm, ['ssm', 'put-parameter', '--name', '/cli/host', '--value', 'db.internal', '--type', 'String']);
    const got = (await aws(ssm, ['ssm', 'get-parameter', '--name', '/cli/db-password', '--with-decryption'])) as { Parameter: { Value: string } };
    expect(got.Parameter.Value).toBe('hunter2');
    // The CLI pages with NextToken itself: MaxResults 1 per call, both parameters in the end.
    const listed = (await aws(ssm, ['ssm', 'get-parameters-by-path', '--path', '/cli', '--page-size', '1'])) as { Parameters: { Name: string }[] };
    expect(listed.Parameters.map((p) => p.Name)).toEqual(['/cli/db-password', '/cli/host']);
  });

  it('creates a secret, rotates it and reads both stages', async () => {
    const sm = h.sm.endpoint;
    await aws(sm, ['secretsmanager', 'create-secret', '--name', 'cli/api-key', '--secret-string', 'one']);
    await aws(sm, ['secretsmanager', 'put-secret-value', '--secret-id', 'cli/api-key', '--secret-string', 'two']);
    expect(((await aws(sm, ['secretsmanager', 'get-secret-value', '--secret-id', 'cli/api-key'])) as { SecretString: string }).SecretString).toBe('two');
    expect(((await aws(sm, ['secretsmanager', 'get-secret-value', '--secret-id', 'cli/api-key', '--version-stage', 'AWSPREVIOUS'])) as { SecretString: string }).SecretString).toBe('one');
  });

  it('shows an AccessDenied as the CLI shows AWS errors', async () => {
    const out = await run('aws', ['--endpoint-url', h.ssm.endpoint, 'ssm', 'get-parameter', '--name', '/cli/host'], { ...env, AWS_ACCESS_KEY_ID: 'AKIASTORESNOBODY0001', AWS_SECRET_ACCESS_KEY: 'n'.repeat(40) });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/An error occurred \(AccessDeniedException\) when calling the GetParameter operation: User: arn:aws:iam::111122223333:role\/nobody is not authorized to perform: ssm:GetParameter/);
  });
});
