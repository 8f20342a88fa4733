/**
 * What every host runs at first boot (EC2 user data, as root): install the pinned release with
 * `make install` (root-owned Node 24, app, EIF and the systemd units of deploy/systemd), size the
 * Nitro Enclaves allocator, write the configs, start the enclaves and the parent, ship logs and
 * /metrics with the CloudWatch agent, and signal CloudFormation only once /readyz answers 200, so a
 * rolling update waits for a host that really serves. Pure: returns text; the stack puts it into the launch template.
 */
import type { FleetSettings } from './settings.js';

export const PARENT_LOG_GROUP = '/enclavekit/parent';
export const METRICS_LOG_GROUP = '/enclavekit/metrics';
/** The first enclave's vsock CID; the others follow (the parent is CID 3, 0..2 are reserved). */
const FIRST_CID = 16;
/** The parent's log file (deploy/parent/parent.json "logFile"). */
const PARENT_LOG = '/var/log/enclavekit/parent.log';
const INSTANCE_ID_PLACEHOLDER = '@INSTANCE_ID@';
/** Where the release is unpacked for `make install`, then removed. */
const RELEASE_DIR = '/root/enclavekit-release';
/** Where `make install` puts the EIF (Makefile LIBDIR, deploy/systemd/enclave.env). */
const INSTALLED_EIF = '/usr/local/lib/enclavekit/eif/enclave.eif';
/**
 * The production Node, shipped in the release as build/node: the version of the enclave image
 * (Dockerfile.enclave) and of .ci/run's second pass.
 */
export const NODE_VERSION = '24.21.0';

/** CloudWatch agent configuration: the parent's JSON log, and Prometheus scraping of /metrics as EMF. */
export function cloudWatchAgentConfig(settings: FleetSettings): { agent: object; prometheus: string } {
  const agent = {
    logs: {
      logs_collected: {
        files: { collect_list: [{ file_path: PARENT_LOG, log_group_name: PARENT_LOG_GROUP, log_stream_name: '{instance_id}' }] },
      },
      // Prometheus metrics become CloudWatch metrics through embedded metric format log events
      // (CloudWatch User Guide, "Set up and configure Prometheus metrics collection on Amazon EC2 instances").
      metrics_collected: {
        prometheus: {
          prometheus_config_path: '/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml',
          log_group_name: METRICS_LOG_GROUP,
          emf_processor: {
            metric_namespace: 'enclavekit',
            metric_declaration: [{ source_labels: ['job'], label_matcher: '^enclavekit$', dimensions: [['host']], metric_selectors: ['^enclavekit_.*'] }],
          },
        },
      },
    },
  };
  const prometheus = [
    'global:',
    '  scrape_interval: 60s',
    'scrape_configs:',
    '  - job_name: enclavekit',
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: ['127.0.0.1:${settings.parentPort}']`,
    // Every host scrapes 127.0.0.1, so the target names no host: the EC2 instance id does (filled in at boot).
    `        labels: { host: '${INSTANCE_ID_PLACEHOLDER}' }`,
    '',
  ].join('\n');
  return { agent, prometheus };
}

/** /etc/nitro_enclaves/allocator.yaml for `count` enclaves (deploy/nitro_enclaves/allocator.yaml explains the fields). */
export function allocatorYaml(settings: FleetSettings): string {
  const { count, cpuCount, memoryMib } = settings.enclaves;
  return `---\nmemory_mib: ${count * memoryMib}\ncpu_count: ${count * cpuCount}\n`;
}

function heredoc(file: string, mode: string, text: string): string[] {
  if (text.includes('\nENCLAVEKIT_EOF\n')) throw new Error('heredoc terminator inside the content');
  return [`install -m ${mode} -o root -g root /dev/null ${file}`, `cat > ${file} <<'ENCLAVEKIT_EOF'`, text.replace(/\n$/, ''), 'ENCLAVEKIT_EOF'];
}

export interface UserDataInputs {
  settings: FleetSettings;
  /** PCR0 of the image this launch template runs: the host refuses a release built differently. */
  pcr0: string;
  /** Logical id of the Auto Scaling group and the stack name, for cfn-signal. */
  stackName: string;
  asgLogicalId: string;
}

export function userDataLines({ settings, pcr0, stackName, asgLogicalId }: UserDataInputs): string[] {
  const { release, region, enclaves } = settings;
  const { agent, prometheus } = cloudWatchAgentConfig(settings);
  const enclaveUrls = Array.from({ length: enclaves.count }, (_, i) => `vsock://${FIRST_CID + i}:5005`);
  const lines = [
    'set -euo pipefail',
    // Signal failure on any error, so CloudFormation rolls the update back instead of waiting.
    `trap '/opt/aws/bin/cfn-signal --exit-code 1 --stack ${stackName} --resource ${asgLogicalId} --region ${region} || true' ERR`,
    // No Node from the distribution: the release carries the Node it was built with (its native addon
    // is compiled for that Node), and the hosts reach only S3 and the VPC endpoints.
    'dnf install -y aws-nitro-enclaves-cli jq make amazon-cloudwatch-agent aws-cfn-bootstrap',
    // The release: fetched, checked against the pinned SHA-256, unpacked where only root can write.
    `aws s3 cp --region ${region} s3://${release.bucket}/${release.key} /root/enclavekit-release.tar.gz`,
    `echo '${release.sha256}  /root/enclavekit-release.tar.gz' | sha256sum -c -`,
    `rm -rf ${RELEASE_DIR} && install -d -m 0700 -o root -g root ${RELEASE_DIR}`,
    `tar -xzf /root/enclavekit-release.tar.gz -C ${RELEASE_DIR} --no-same-owner`,
    // The image in the release must be the one the key policy admits for this launch template.
    `test "$(jq -r '(.Measurements.PCR0 // .PCR0) | ascii_downcase' ${RELEASE_DIR}/build/pcrs.json)" = '${pcr0}'`,
    `test "$(${RELEASE_DIR}/build/node --version)" = 'v${NODE_VERSION}'`,
    // The one install procedure (Makefile `install`, docs/deploy.md "Install layout"): Node, the app,
    // the enclave script, the EIF and the units, root-owned under /usr/local/lib/enclavekit and /etc.
    `make -C ${RELEASE_DIR} install NODE=${RELEASE_DIR}/build/node EIF=${RELEASE_DIR}/build/enclave.eif PCRS=${RELEASE_DIR}/build/pcrs.json`,
    `rm -rf ${RELEASE_DIR} /root/enclavekit-release.tar.gz`,
    ...heredoc('/etc/nitro_enclaves/allocator.yaml', '0644', allocatorYaml(settings)),
  ];
  for (let i = 0; i < enclaves.count; i++) {
    lines.push(...heredoc(`/etc/enclavekit/enclave-${i + 1}.env`, '0644', [
      `EIF_PATH=${INSTALLED_EIF}`,
      `CPU_COUNT=${enclaves.cpuCount}`,
      `MEMORY_MIB=${enclaves.memoryMib}`,
      `ENCLAVE_CID=${FIRST_CID + i}`,
      'DEBUG_MODE=',
    ].join('\n')));
  }
  const parentBase = {
    // The load balancer reaches the parent on the host's address; the security group admits only it.
    http: { host: '0.0.0.0', port: settings.parentPort },
    enclaves: enclaveUrls,
    region,
    // No `proxy`: the parent's defaults are the KMS tunnel port the enclave image dials
    // (deploy/enclave/enclave.json "proxy") and the regional KMS endpoint as the only target.
    credentials: { source: 'default-chain' },
    logFile: PARENT_LOG,
  };
  lines.push(
    'id -u enclavekit >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin enclavekit',
    // API tokens and wrapped keys: an SSE-S3 object (no KMS key: the instance role may use none without attestation).
    `aws s3 cp --region ${region} s3://${release.bucket}/${settings.hostConfigKey} /root/enclavekit-host.json`,
    ...heredoc('/root/enclavekit-parent-base.json', '0600', JSON.stringify(parentBase, null, 2)),
    "jq -s '.[0] * {apiTokens: .[1].apiTokens, wrappedKeys: .[1].wrappedKeys}' /root/enclavekit-parent-base.json /root/enclavekit-host.json > /root/enclavekit-parent.json",
    'install -m 0640 -o root -g enclavekit /root/enclavekit-parent.json /etc/enclavekit/parent.json',
    'shred -u /root/enclavekit-host.json /root/enclavekit-parent.json',
    ...heredoc('/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json', '0644', JSON.stringify(agent, null, 2)),
    ...heredoc('/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml', '0644', prometheus),
    // IMDSv2: a session token first (hop limit 1 suffices from the host itself).
    'imds_token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")',
    'instance_id=$(curl -fsS -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/instance-id)',
    `sed -i "s/${INSTANCE_ID_PLACEHOLDER}/$instance_id/" /opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml`,
    'systemctl daemon-reload',
    'systemctl enable --now nitro-enclaves-allocator.service',
    `systemctl enable --now ${Array.from({ length: enclaves.count }, (_, i) => `enclavekit-enclave@${i + 1}`).join(' ')} enclavekit-parent`,
    '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json',
    // Ready means attested and holding its keys (docs/operations.md); give the enclaves up to 10 minutes.
    `for i in $(seq 1 120); do curl -fsS http://127.0.0.1:${settings.parentPort}/readyz >/dev/null && break; sleep 5; done`,
    `curl -fsS http://127.0.0.1:${settings.parentPort}/readyz`,
    `/opt/aws/bin/cfn-signal --exit-code 0 --stack ${stackName} --resource ${asgLogicalId} --region ${region}`,
  );
  return lines;
}
