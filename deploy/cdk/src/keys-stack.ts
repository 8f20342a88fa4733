/**
 * The keys and the instance role: deployed first, before the first image is built, because the
 * enclave's measured config names the key ARNs. Without PCRs the keys admit no enclave yet; with
 * them (and, during a rollout, the previous PCRs) the attested-enclave statements are added.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { pinAccountAndRegion } from './guard.js';
import { METRICS_LOG_GROUP, PARENT_LOG_GROUP } from './host-setup.js';
import { cardKeyPolicy, internalKeyPolicy, type KeyPolicyInputs } from './key-policies.js';
import type { FleetSettings } from './settings.js';
import { ADMIN_ACTIONS, SID_ADMIN } from '../../../shared/policy/generate.js';

export interface KeysStackProps extends StackProps {
  settings: FleetSettings;
  pcrs: Record<number, string> | undefined;
  previousPcrs: Record<number, string> | undefined;
  /** deploy/iam/parent-instance-role-policy.json: KMS only with attestation, enclavekit/ parameter and secret reads, every other action denied. */
  instanceRoleGuardPolicy: object;
}

export class KeysStack extends Stack {
  readonly role: iam.Role;
  readonly cardKey: kms.CfnKey;
  readonly internalKey: kms.CfnKey;

  constructor(scope: Construct, id: string, props: KeysStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const { account, region } = settings;
    pinAccountAndRegion(this, account, region);

    // A fixed name: the key policies must name the role before CloudFormation creates it.
    const roleArn = `arn:aws:iam::${account}:role/${settings.roleName}`;
    this.role = new iam.Role(this, 'InstanceRole', {
      roleName: settings.roleName,
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'enclavekit parent instances; KMS only with an enclave attestation document',
      inlinePolicies: {
        'enclavekit-kms-guard': iam.PolicyDocument.fromJson(props.instanceRoleGuardPolicy),
        'enclavekit-host': new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'ReadTheReleaseAndHostConfig',
              actions: ['s3:GetObject'],
              resources: [`arn:aws:s3:::${settings.release.bucket}/${settings.release.key}`, `arn:aws:s3:::${settings.release.bucket}/${settings.hostConfigKey}`],
            }),
            new iam.PolicyStatement({
              sid: 'ShipLogsAndMetricsToCloudWatch',
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
              resources: [PARENT_LOG_GROUP, METRICS_LOG_GROUP].flatMap((g) => [`arn:aws:logs:${region}:${account}:log-group:${g}`, `arn:aws:logs:${region}:${account}:log-group:${g}:log-stream:*`]),
            }),
          ],
        }),
      },
    });

    // CloudFormation's execution role creates the keys, so it must be able to manage them (KMS
    // refuses a policy that locks its creator out: "Default key policy", AWS KMS Developer Guide).
    const deployer = `arn:aws:iam::${account}:role/cdk-${settings.cdkQualifier}-cfn-exec-role-${account}-${region}`;
    const inputs: KeyPolicyInputs = {
      account,
      enclaveRoleArn: roleArn,
      adminArns: [...settings.adminArns, deployer],
      producerArns: settings.producerArns,
      producerPurposes: settings.producerPurposes,
      keygenArns: settings.keygenArns,
      pcrs: props.pcrs,
      ...(props.previousPcrs === undefined ? {} : { previousPcrs: props.previousPcrs }),
    };
    this.cardKey = this.key('CardKey', 'alias/enclavekit-cards', 'enclavekit card key: producers seal, only the attested enclave opens', cardKeyPolicy(inputs));
    this.internalKey = this.key('InternalKey', 'alias/enclavekit-internal', 'enclavekit internal key: wraps the tokenization and blind-index keys', internalKeyPolicy(inputs));

    // Log groups encrypted with their own key. CloudWatch Logs uses it as the service principal
    // logs.<region>.amazonaws.com, limited to this account's enclavekit log groups through the
    // encryption context it always sends (CloudWatch Logs User Guide, "Encrypt log data in
    // CloudWatch Logs using AWS KMS", step 2).
    const logsKey = this.key('LogsKey', 'alias/enclavekit-logs', 'enclavekit CloudWatch Logs encryption', {
      Version: '2012-10-17',
      Statement: [
        { Sid: SID_ADMIN, Effect: 'Allow', Principal: { AWS: inputs.adminArns }, Action: [...ADMIN_ACTIONS], Resource: '*' },
        {
          Sid: 'CloudWatchLogsEncryptsTheEnclavekitLogGroups',
          Effect: 'Allow',
          Principal: { Service: `logs.${region}.amazonaws.com` },
          Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          Resource: '*',
          Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${region}:${account}:log-group:/enclavekit/*` } },
        },
      ],
    });
    for (const [id, name] of [['ParentLogs', PARENT_LOG_GROUP], ['Metrics', METRICS_LOG_GROUP]] as const) {
      const group = new logs.CfnLogGroup(this, id, { logGroupName: name, kmsKeyId: logsKey.attrArn, retentionInDays: 90 });
      group.node.addDependency(logsKey);
    }

    new CfnOutput(this, 'CardKeyArn', { value: this.cardKey.attrArn });
    new CfnOutput(this, 'InternalKeyArn', { value: this.internalKey.attrArn });
    new CfnOutput(this, 'InstanceRoleArn', { value: this.role.roleArn });
  }

  /** An L1 key: the policy is exactly the document given (the L2 construct would add an account-root statement). */
  private key(id: string, alias: string, description: string, policy: object): kms.CfnKey {
    const key = new kms.CfnKey(this, id, { description, keyPolicy: policy, enableKeyRotation: true, keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT' });
    // KMS checks that every principal in a key policy exists.
    key.node.addDependency(this.role);
    new kms.CfnAlias(this, `${id}Alias`, { aliasName: alias, targetKeyId: key.ref });
    return key;
  }
}
