/**
 * The host files in deploy/ agree with each other and with the code: the enclave
 * config baked into the image parses and is a production one; the systemd units start what exists
 * in the repository; the allocator reserves what the enclave unit asks for; and the parent role's IAM
 * policy, evaluated with IAM semantics by the simulator's evaluator, denies every KMS use without
 * an enclave attestation document and leaves attested use to the key policy.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { attestationConditionValues, evaluateKeyPolicy, parseKeyPolicy } from '../../sim/kms/policy/index.js';
import { repoRoot } from './helpers.js';

const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

/** KEY=VALUE lines of an environment file (systemd EnvironmentFile syntax, without quoting). */
function envFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m !== null) out[m[1]!] = m[2]!;
  }
  return out;
}

/** `key: value` lines of a flat YAML file (allocator.yaml has no nesting). */
function flatYaml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+):\s*(\S+)\s*$/.exec(line);
    if (m !== null) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Settings of a systemd unit: section → key → values (repeated keys accumulate). */
function unit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header !== null) {
      section = header[1]!;
      out[section] = {};
      continue;
    }
    const eq = line.indexOf('=');
    expect(eq, `not a setting: ${line}`).toBeGreaterThan(0);
    ((out[section] ??= {})[line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return out;
}

/** Units refer to what `make install` puts under /usr/local/lib/enclavekit (install.test.ts runs it). */
const INSTALL_DIR = '/usr/local/lib/enclavekit/';
/** Installed path → the repository file it is copied from. */
const INSTALLED_FROM: Record<string, string> = { 'bin/enclavekit-enclave': 'deploy/bin/enclavekit-enclave', 'app/bin/enclavekit.js': 'bin/enclavekit.js' };

describe('deploy/enclave/enclave.json (baked into the image)', () => {
  const config = parseEnclaveConfig(JSON.parse(read('deploy/enclave/enclave.json')) as unknown);

  it('is a production configuration: the NSM device, vsock to the parent, debug mode refused', () => {
    expect(config.nsm).toBe('device:/dev/nsm');
    expect(config.listen).toBe('vsock://4294967295:5005');
    expect(config.proxy).toBe('vsock://3:5006');
    expect(config.refuseDebugMode).toBe(true);
    expect(config.kms.endpoint).toBeUndefined();
    expect(config.kms.caFile).toBeUndefined();
  });

  it('accepts cards only from producers: ESDK under the card key with purpose=card, no anonymous submission', () => {
    expect(config.cards?.cardKeyArn).toMatch(/^arn:aws:kms:us-east-1:\d{12}:key\//);
    expect(config.cards?.cardKeyArn.split(':')[3]).toBe(config.kms.region);
    expect(config.cards?.hpkeSenders).toEqual([]);
    expect(config.cards?.publicSubmission.enabled).toBe(false);
    expect(config.cards?.detokenizeRecipients).toEqual({});
  });
});

describe('systemd units', () => {
  const enclaveUnit = unit(read('deploy/systemd/enclavekit-enclave@.service'));
  const parentUnit = unit(read('deploy/systemd/enclavekit-parent.service'));

  it('start installed copies of programs that exist in the repository, the parent on the installed Node', () => {
    const exec = [...(enclaveUnit.Service?.ExecStart ?? []), ...(parentUnit.Service?.ExecStart ?? [])];
    expect(exec).toHaveLength(2);
    const installed = exec.flatMap((line) => line.split(/\s+/)).filter((word) => word.startsWith('/'));
    expect(installed.filter((word) => !word.startsWith('/etc/')).every((word) => word.startsWith(INSTALL_DIR))).toBe(true);
    const scripts = installed.map((s) => s.slice(INSTALL_DIR.length)).filter((s) => s in INSTALLED_FROM);
    expect(scripts.sort()).toEqual(Object.keys(INSTALLED_FROM).sort());
    for (const script of scripts) expect(() => readFileSync(path.join(repoRoot, INSTALLED_FROM[script]!))).not.toThrow();
    expect(parentUnit.Service?.ExecStart?.[0]).toBe(`${INSTALL_DIR}bin/node ${INSTALL_DIR}app/bin/enclavekit.js parent --config /etc/enclavekit/parent.json`);
  });

  it('run the parent unprivileged with the address families it needs, and restart both on failure', () => {
    expect(parentUnit.Service?.User).toEqual(['enclavekit']);
    expect(parentUnit.Service?.NoNewPrivileges).toEqual(['yes']);
    expect(parentUnit.Service?.RestrictAddressFamilies?.[0]?.split(' ').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX', 'AF_VSOCK']);
    expect(parentUnit.Service?.Restart).toEqual(['on-failure']);
    expect(enclaveUnit.Service?.Restart).toEqual(['on-failure']);
    expect(enclaveUnit.Unit?.Requires).toEqual(['nitro-enclaves-allocator.service']);
  });

  it('the example enclave settings fit in the allocator reservation and satisfy the script', () => {
    const settings = envFile(read('deploy/systemd/enclave.env'));
    const allocator = flatYaml(read('deploy/nitro_enclaves/allocator.yaml'));
    expect(Number(settings.MEMORY_MIB)).toBeLessThanOrEqual(Number(allocator.memory_mib));
    expect(Number(settings.CPU_COUNT)).toBeLessThanOrEqual(Number(allocator.cpu_count));
    expect(Number(settings.CPU_COUNT) % 2).toBe(0); // whole cores on 2-threads-per-core instances
    expect(Number(settings.ENCLAVE_CID)).toBeGreaterThanOrEqual(4); // 0-2 reserved, 3 is the parent
    const script = read('deploy/bin/enclavekit-enclave');
    for (const name of ['EIF_PATH', 'CPU_COUNT', 'MEMORY_MIB', 'ENCLAVE_CID']) {
      expect(settings[name], name).toBeDefined();
      expect(script).toContain(`\${${name}:?`);
    }
  });
});

describe('deploy/iam/parent-instance-role-policy.json', () => {
  const ROLE = 'arn:aws:iam::111122223333:role/enclavekit-parent';
  const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  // The simulator evaluates key policies; an identity policy is the same grammar without a
  // Principal (the role it is attached to), so the role is filled in for the evaluation.
  const raw = JSON.parse(read('deploy/iam/parent-instance-role-policy.json')) as { Statement: Record<string, unknown>[] };
  const policy = parseKeyPolicy({ ...raw, Statement: raw.Statement.map((s) => ({ ...s, Principal: { AWS: ROLE } })) });
  const attested = attestationConditionValues({ 0: 'ab'.repeat(48), 1: 'cd'.repeat(48), 2: 'ef'.repeat(48) });
  const decide = (action: string, values: Record<string, string>) =>
    evaluateKeyPolicy(policy, { principalArn: ROLE, action, resource: KEY, values: { 'aws:PrincipalArn': ROLE, 'kms:CallerAccount': '111122223333', ...values } });

  it('grants no KMS action: KMS access comes from the attested key policy only', () => {
    const allows = raw.Statement.filter((s) => s.Effect === 'Allow');
    expect(allows.flatMap((s) => s.Action as string[]).filter((a) => a.startsWith('kms:'))).toEqual([]);
  });

  // The enclave fetches its sealed parameters and secrets with this role's credentials, through its
  // tunnel: reads under enclavekit/ only, and no write (the parent must not plant secrets).
  const PARAMETER = 'arn:aws:ssm:us-east-1:111122223333:parameter/enclavekit/prod/db-password';
  const SECRET = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:enclavekit/prod/api-key-AbCdEf';
  const decideOn = (action: string, resource: string) => evaluateKeyPolicy(policy, { principalArn: ROLE, action, resource, values: { 'aws:PrincipalArn': ROLE, 'kms:CallerAccount': '111122223333' } });

  it.each([
    ['ssm:GetParameter', PARAMETER],
    ['ssm:GetParameters', PARAMETER],
    ['ssm:GetParametersByPath', 'arn:aws:ssm:us-east-1:111122223333:parameter/enclavekit/prod'],
    ['secretsmanager:GetSecretValue', SECRET],
    ['secretsmanager:DescribeSecret', SECRET],
  ])('allows %s under enclavekit/', (action, resource) => {
    expect(decideOn(action, resource)).toMatchObject({ allowed: true });
  });

  it.each([
    ['ssm:GetParameter', 'arn:aws:ssm:us-east-1:111122223333:parameter/other-app/db-password'],
    ['ssm:GetParametersByPath', 'arn:aws:ssm:us-east-1:111122223333:parameter/'],
    ['secretsmanager:GetSecretValue', 'arn:aws:secretsmanager:us-east-1:111122223333:secret:other-app/key-AbCdEf'],
    ['ssm:PutParameter', PARAMETER],
    ['ssm:DeleteParameter', PARAMETER],
    ['ssm:GetParameterHistory', PARAMETER],
    ['secretsmanager:PutSecretValue', SECRET],
    ['secretsmanager:UpdateSecret', SECRET],
    ['secretsmanager:PutResourcePolicy', SECRET],
  ])('denies %s on %s outright (other stores, and every write)', (action, resource) => {
    expect(decideOn(action, resource)).toMatchObject({ allowed: false, reason: 'explicit-deny' });
  });

  it.each(['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateRandom'])('denies %s without an attestation document', (action) => {
    expect(decide(action, {})).toMatchObject({ allowed: false, reason: 'explicit-deny' });
  });

  it.each(['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateRandom'])('does not deny %s with one (the key policy decides)', (action) => {
    expect(decide(action, attested)).toMatchObject({ allowed: false, reason: 'implicit-deny' });
  });

  it.each(['kms:Encrypt', 'kms:ReEncryptFrom', 'kms:CreateGrant', 'kms:PutKeyPolicy', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ScheduleKeyDeletion'])(
    'denies %s outright, attestation or not',
    (action) => {
      expect(decide(action, attested)).toMatchObject({ allowed: false, reason: 'explicit-deny' });
    },
  );
});
