/**
 * The fleet's CDK app (deploy/cdk) synthesizes offline, and its templates hold the parts a
 * compromised parent would attack: no key policy gives the instance role anything without an
 * attestation condition, the role's IAM policy denies KMS without attestation and does not deny
 * what the host's own policy allows, IMDSv2 with one hop,
 * the enclave option, /readyz as the load balancer's health check, encrypted log groups, and a
 * rolling update one host at a time with two attested statements only while a rollout lasts.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardKeyPolicy } from '../../deploy/cdk/src/key-policies.js';
import { parseFleetPcrs, parseFleetSettings } from '../../deploy/cdk/src/settings.js';
import { repoRoot, run, tempDir } from './helpers.js';

const CDK_MODULES = path.join(repoRoot, 'deploy/cdk/node_modules/aws-cdk-lib');
const TSX = path.join(repoRoot, 'node_modules/.bin/tsx');
const ACCOUNT = '111122223333';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/enclavekit-parent`;

type Json = any;
type Template = { Resources: Record<string, { Type: string; Properties: Json; UpdatePolicy?: Json; CreationPolicy?: Json; DependsOn?: string[] }> };

const dir = tempDir('cdk');
const measurements = (pcr0: string, pcr2: string) => JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0: pcr0.repeat(96), PCR1: 'b'.repeat(96), PCR2: pcr2.repeat(96) } });
const NEW = path.join(dir, 'pcrs-new.json');
const OLD = path.join(dir, 'pcrs-old.json');

/**
 * The stacks name no account or Region (a CfnRule pins them instead), so the CDK builds the VPC from
 * a fallback list of Availability Zones (the first two of Fn::GetAZs unless the context says more);
 * `azs` supplies a longer list, as CDK_CONTEXT_JSON, to see how many the app itself asks for.
 */
async function synth(name: string, context: Record<string, string>, azs?: string[]): Promise<{ keys: Template; fleet: Template | undefined; out: string }> {
  const out = path.join(dir, name);
  const args = ['deploy/cdk/bin/fleet.ts', '-c', `outdir=${out}`, ...Object.entries(context).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const env = azs === undefined ? process.env : { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:availability-zones:fallback': azs }) };
  const result = await run(TSX, args, { timeoutMs: 120_000, env });
  expect(result.stderr + result.stdout, `synth ${name}`).not.toMatch(/Error/);
  expect(result.code).toBe(0);
  const read = (stack: string): Template | undefined => {
    const file = path.join(out, `${stack}.template.json`);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Template) : undefined;
  };
  return { keys: read('EnclaveKitKeys')!, fleet: read('EnclaveKitFleet'), out };
}

const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/**
 * Allow statements of key policies that could reach the instance role (by its ARN, the account
 * root, or a wildcard) but carry no kms:RecipientAttestation condition.
 */
function unattestedGrants(t: Template): string[] {
  const found: string[] = [];
  for (const [id, key] of ofType(t, 'AWS::KMS::Key')) {
    for (const s of key.Properties.KeyPolicy.Statement as Json[]) {
      if (s.Effect !== 'Allow') continue;
      const principals = s.Principal === '*' ? ['*'] : list(s.Principal?.AWS ?? []);
      // A CloudFormation reference ({"Fn::GetAtt": [role, "Arn"]}) may name the role: it counts as reaching it.
      const reaches = principals.some((p) => typeof p !== 'string' || p === '*' || p === ROLE_ARN || p === `arn:aws:iam::${ACCOUNT}:root` || p === ACCOUNT || (typeof p === 'string' && p.includes(':assumed-role/enclavekit-parent/')));
      const attested = Object.values(s.Condition ?? {}).some((c: Json) => Object.keys(c).some((k) => k.startsWith('kms:RecipientAttestation:')));
      if (reaches && !attested) found.push(`${id}/${s.Sid}`);
    }
  }
  return found;
}

let bootstrap: Awaited<ReturnType<typeof synth>>;
let rollout: Awaited<ReturnType<typeof synth>>;
let settled: Awaited<ReturnType<typeof synth>>;
let typeCheck: ReturnType<typeof run>;

beforeAll(async () => {
  if (!existsSync(CDK_MODULES)) throw new Error('deploy/cdk has no node_modules: run `npm ci --prefix deploy/cdk` (.ci/run does)');
  writeFileSync(NEW, measurements('a', 'c'));
  writeFileSync(OLD, measurements('d', 'e'));
  // The type check (the longest part) runs beside the synths; each synth loads aws-cdk-lib anew.
  typeCheck = run(path.join(repoRoot, 'node_modules/.bin/tsc'), ['--noEmit', '-p', 'deploy/cdk'], { timeoutMs: 150_000 });
  [bootstrap, rollout, settled] = await Promise.all([synth('bootstrap', {}), synth('rollout', { pcrs: NEW, previousPcrs: OLD }), synth('settled', { pcrs: NEW }, ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d'])]);
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the synthesized fleet', () => {
  it('writes CloudFormation templates: the keys alone before the first image, then keys and fleet', () => {
    expect(ofType(bootstrap.keys, 'AWS::KMS::Key').map(([id]) => id).sort()).toEqual(['CardKey', 'InternalKey', 'LogsKey']);
    expect(bootstrap.fleet).toBeUndefined();
    expect(rollout.fleet).toBeDefined();
    expect(settled.fleet).toBeDefined();
  });

  it('gives the instance role nothing in any key policy without a kms:RecipientAttestation condition', () => {
    for (const s of [bootstrap, rollout, settled]) expect(unattestedGrants(s.keys)).toEqual([]);
    // Before the first image the role is in no key policy at all.
    expect(JSON.stringify(ofType(bootstrap.keys, 'AWS::KMS::Key'))).not.toContain(ROLE_ARN);
    // ...and the enclave statements that do name it are attested.
    const enclaveStatements = ofType(settled.keys, 'AWS::KMS::Key').flatMap(([, k]) => (k.Properties.KeyPolicy.Statement as Json[]).filter((s) => list(s.Principal.AWS).includes(ROLE_ARN)));
    expect(enclaveStatements).toHaveLength(2);
  });

  it('the check above catches a statement that grants the role without attestation (the attack it guards against)', () => {
    const tampered: Template = structuredClone(settled.keys);
    const card = tampered.Resources.CardKey!.Properties.KeyPolicy.Statement as Json[];
    card.push({ Sid: 'Sneaky', Effect: 'Allow', Principal: { AWS: ROLE_ARN }, Action: 'kms:Decrypt', Resource: '*' });
    card.push({ Sid: 'Root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' });
    (tampered.Resources.InternalKey!.Properties.KeyPolicy.Statement as Json[]).push({ Sid: 'ByReference', Effect: 'Allow', Principal: { AWS: { 'Fn::GetAtt': ['InstanceRole3CCE2F1D', 'Arn'] } }, Action: 'kms:Decrypt', Resource: '*' });
    expect(unattestedGrants(tampered)).toEqual(['CardKey/Sneaky', 'CardKey/Root', 'InternalKey/ByReference']);
  });

  it("denies the role KMS without an attestation document in its IAM policy, grants it no KMS action, and denies nothing the host needs", () => {
    const [, role] = ofType(settled.keys, 'AWS::IAM::Role')[0]!;
    const guard = (role.Properties.Policies as Json[]).find((p) => p.PolicyName === 'enclavekit-kms-guard').PolicyDocument;
    expect(guard).toEqual(JSON.parse(readFileSync(path.join(repoRoot, 'deploy/iam/parent-instance-role-policy.json'), 'utf8')));
    const allows = [settled.keys, settled.fleet!].flatMap((t) => [...ofType(t, 'AWS::IAM::Role').flatMap(([, r]) => (r.Properties.Policies ?? []) as Json[]), ...ofType(t, 'AWS::IAM::Policy').map(([, p]) => p.Properties)])
      .flatMap((p: Json) => p.PolicyDocument.Statement as Json[])
      .filter((s) => s.Effect === 'Allow');
    expect(allows.length).toBeGreaterThan(0);
    for (const s of allows) for (const action of list(s.Action)) expect(String(action)).not.toMatch(/^kms:/);
    // The guard denies every action it does not list (a ceiling on the role), and an explicit Deny
    // beats any Allow: each action the role's other policies allow must be listed, or the host
    // could not read its release nor ship its logs.
    const ceiling = (guard.Statement as Json[]).find((s) => s.NotAction !== undefined).NotAction as string[];
    const roleAllows = (role.Properties.Policies as Json[]).filter((p) => p.PolicyName !== 'enclavekit-kms-guard').flatMap((p) => p.PolicyDocument.Statement as Json[]).filter((s) => s.Effect === 'Allow');
    expect(roleAllows.length).toBeGreaterThan(0);
    for (const s of roleAllows) for (const action of list(s.Action)) expect(ceiling, String(action)).toContain(action);
  });

  it('binds the current image and, only during a rollout, the previous one in a second statement', () => {
    const sids = (s: typeof rollout, key: string) => (s.keys.Resources[key]!.Properties.KeyPolicy.Statement as Json[]).map((x) => x.Sid);
    const pcr0s = (s: typeof rollout, key: string) =>
      (s.keys.Resources[key]!.Properties.KeyPolicy.Statement as Json[]).filter((x) => x.Condition?.StringEqualsIgnoreCase).map((x) => x.Condition.StringEqualsIgnoreCase['kms:RecipientAttestation:PCR0']);
    for (const key of ['CardKey', 'InternalKey']) {
      expect(sids(rollout, key)).toContain('EnclaveKitAttestedEnclavePrevious');
      expect(pcr0s(rollout, key)).toEqual(['a'.repeat(96), 'd'.repeat(96)]);
      expect(sids(settled, key)).not.toContain('EnclaveKitAttestedEnclavePrevious');
      expect(pcr0s(settled, key)).toEqual(['a'.repeat(96)]);
    }
    // Producers may use the card key only; nobody but the keygen role may create wrapped keys under the internal key.
    expect(sids(settled, 'CardKey')).toContain('EnclaveKitProducersEncrypt');
    expect(sids(settled, 'InternalKey')).not.toContain('EnclaveKitProducersEncrypt');
    expect(sids(settled, 'InternalKey')).toContain('EnclaveKitWrappedKeyGeneration');
  });

  it('launches hosts with the enclave option, IMDSv2 only and a hop limit of 1', () => {
    const [[, lt]] = ofType(settled.fleet!, 'AWS::EC2::LaunchTemplate') as [[string, Json]];
    const data = lt.Properties.LaunchTemplateData;
    expect(data.EnclaveOptions).toEqual({ Enabled: true });
    expect(data.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
    const userData = JSON.stringify(data.UserData);
    expect(userData).toContain('sha256sum -c');
    expect(userData).toContain('memory_mib: 2048');
    // The release goes in with `make install` (test/deploy/cdk-host.test.ts checks what that creates).
    expect(userData).toContain('make -C /root/enclavekit-release install ');
    expect(userData).toContain("/metrics");
    expect(userData).toContain('a'.repeat(96));
  });

  it('runs an Auto Scaling group across AZs behind an internal load balancer checking /readyz, replaced one host at a time', () => {
    const [[, asg]] = ofType(settled.fleet!, 'AWS::AutoScaling::AutoScalingGroup') as [[string, Json]];
    // Offered four AZs, the hosts spread over as many as the app asks for: the number docs/deploy.md names.
    const docsAzs = /isolated subnets in (\w+) AZs/.exec(readFileSync(path.join(repoRoot, 'docs/deploy.md'), 'utf8'))?.[1];
    expect(['one', 'two', 'three', 'four', 'five', 'six'].indexOf(docsAzs ?? '') + 1).toBe(asg.Properties.VPCZoneIdentifier.length);
    const subnetAzs = ofType(settled.fleet!, 'AWS::EC2::Subnet').map(([, sn]) => sn.Properties.AvailabilityZone);
    expect(new Set(subnetAzs).size).toBe(subnetAzs.length);
    expect(asg.Properties.HealthCheckType).toBe('ELB');
    expect(asg.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({ MaxBatchSize: 1, WaitOnResourceSignals: true });
    expect(Number(asg.UpdatePolicy.AutoScalingRollingUpdate.MinInstancesInService)).toBe(Number(asg.Properties.DesiredCapacity));
    const [[, lb]] = ofType(settled.fleet!, 'AWS::ElasticLoadBalancingV2::LoadBalancer') as [[string, Json]];
    expect(lb.Properties.Scheme).toBe('internal');
    const [[, tg]] = ofType(settled.fleet!, 'AWS::ElasticLoadBalancingV2::TargetGroup') as [[string, Json]];
    expect(tg.Properties).toMatchObject({ HealthCheckPath: '/readyz', Port: 8080, Matcher: { HttpCode: '200' } });
    // /metrics stays on the host (scraped by the CloudWatch agent), not served through the load balancer.
    const rules = ofType(settled.fleet!, 'AWS::ElasticLoadBalancingV2::ListenerRule').map(([, r]) => r.Properties);
    expect(rules).toContainEqual(expect.objectContaining({ Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/metrics'] } }], Actions: [expect.objectContaining({ Type: 'fixed-response' })] }));
  });

  it('encrypts the log groups with a KMS key that CloudWatch Logs may use for these log groups only', () => {
    const groups = ofType(settled.keys, 'AWS::Logs::LogGroup');
    expect(groups.length).toBe(2);
    for (const [, g] of groups) expect(g.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': ['LogsKey', 'Arn'] });
    const logsStatement = (settled.keys.Resources.LogsKey!.Properties.KeyPolicy.Statement as Json[]).find((s) => s.Principal.Service);
    expect(logsStatement.Principal.Service).toBe('logs.us-east-1.amazonaws.com');
    expect(logsStatement.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']).toBe(`arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/enclavekit/*`);
  });

  it('type-checks (the root tsc does not cover deploy/cdk: its aws-cdk-lib lives in its own package)', async () => {
    const tsc = await typeCheck;
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  }, 120_000);

  it('refuses a rollout without the image being rolled out, and bad settings, naming the field', () => {
    // Pure parts of the app (no aws-cdk-lib): checked in process.
    const settings = parseFleetSettings(JSON.parse(readFileSync(path.join(repoRoot, 'deploy/cdk/fleet.example.json'), 'utf8')));
    const inputs = { account: ACCOUNT, enclaveRoleArn: ROLE_ARN, adminArns: settings.adminArns, producerArns: [], producerPurposes: [], keygenArns: settings.keygenArns };
    expect(() => cardKeyPolicy({ ...inputs, pcrs: undefined, previousPcrs: parseFleetPcrs(readFileSync(OLD, 'utf8'), 'previousPcrs') })).toThrow('previousPcrs needs pcrs');
    expect(() => parseFleetSettings({ ...settings, capacity: { min: 2, desired: 3, max: 3 } })).toThrow('fleet settings: capacity must satisfy');
    expect(() => parseFleetSettings({ ...settings, enclaves: { count: 1, cpuCount: 3, memoryMib: 2048 } })).toThrow('enclaves.cpuCount must be even');
    expect(() => parseFleetSettings({ ...settings, surprise: true })).toThrow('surprise is not a known setting');
    expect(() => parseFleetPcrs(JSON.stringify({ PCR0: 'a'.repeat(96) }), 'pcrs')).toThrow('pcrs must hold PCR1');
    // A typed configuration error (shared/errors.ts), not a TypeError from our own code.
    expect(() => parseFleetSettings({ ...settings, surprise: true })).toThrow(expect.objectContaining({ name: 'ServiceError', code: 'ERR_CONFIG' }));
  });

  it('reports bad settings in one line naming the field and rule, exit 1, no stack trace', async () => {
    const example = JSON.parse(readFileSync(path.join(repoRoot, 'deploy/cdk/fleet.example.json'), 'utf8')) as Json;
    const file = path.join(dir, 'settings-odd-cpus.json');
    writeFileSync(file, JSON.stringify({ ...example, enclaves: { ...example.enclaves, cpuCount: 3 } }));
    const odd = await run(TSX, ['deploy/cdk/bin/fleet.ts', '-c', `settings=${file}`, '-c', `outdir=${path.join(dir, 'bad-out')}`], { timeoutMs: 120_000 });
    expect(odd.code).toBe(1);
    expect(odd.stderr).toBe('fleet settings: enclaves.cpuCount must be even (whole cores)\n');
    const notJson = path.join(dir, 'settings-not-json.json');
    writeFileSync(notJson, '{"account": ');
    const broken = await run(TSX, ['deploy/cdk/bin/fleet.ts', '-c', `settings=${notJson}`, '-c', `outdir=${path.join(dir, 'bad-out')}`], { timeoutMs: 120_000 });
    expect(broken).toMatchObject({ code: 1, stderr: 'fleet settings: the settings file is unreadable or not JSON\n' });
  }, 120_000);
});
