/**
 * The fleet: Nitro Enclaves hosts in an Auto Scaling group across Availability Zones behind an
 * internal Application Load Balancer whose health check is /readyz. Hosts live in isolated subnets
 * and reach AWS only through VPC endpoints (KMS for the enclaves' tunnels, S3 for the release and
 * the dnf repositories, CloudWatch Logs, CloudFormation for cfn-signal).
 */
import { Annotations, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { pinAccountAndRegion } from './guard.js';
import { userDataLines } from './host-setup.js';
import type { FleetSettings } from './settings.js';

export interface FleetStackProps extends StackProps {
  settings: FleetSettings;
  /** The image every new host runs (its PCR0 is checked against the release at boot). */
  pcrs: Record<number, string>;
}

/** Fixed so that user data can name it in cfn-signal before synthesis assigns ids. */
const ASG_ID = 'Hosts';

export class FleetStack extends Stack {
  constructor(scope: Construct, id: string, props: FleetStackProps) {
    super(scope, id, props);
    const { settings } = props;
    pinAccountAndRegion(this, settings.account, settings.region);

    const vpc = new ec2.Vpc(this, 'Vpc', {
      // Two: the stack names no account or Region (the rule above pins them), so the CDK can only
      // pick Fn::GetAZs entries it knows exist, and every Region has at least two. docs/deploy.md says so.
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'hosts', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    for (const [name, service] of [
      ['Kms', ec2.InterfaceVpcEndpointAwsService.KMS],
      ['Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
      ['CloudFormation', ec2.InterfaceVpcEndpointAwsService.CLOUDFORMATION],
    ] as const) {
      vpc.addInterfaceEndpoint(name, { service, privateDnsEnabled: true });
    }

    const lbSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSg', { vpc, description: 'enclavekit internal load balancer' });
    const hostSecurityGroup = new ec2.SecurityGroup(this, 'HostSg', { vpc, description: 'enclavekit hosts: the parent API, from the load balancer only' });
    hostSecurityGroup.addIngressRule(lbSecurityGroup, ec2.Port.tcp(settings.parentPort), 'parent API and /readyz from the load balancer');

    const userData = ec2.UserData.forLinux();
    userData.addCommands(...userDataLines({ settings, pcr0: props.pcrs[0]!, stackName: this.stackName, asgLogicalId: ASG_ID }));

    const launchTemplate = new ec2.LaunchTemplate(this, 'HostTemplate', {
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      instanceType: new ec2.InstanceType(settings.instanceType),
      nitroEnclaveEnabled: true,
      // IMDSv2 only, one hop: a container on the host (the image build) cannot reach the role's credentials.
      requireImdsv2: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      // The keys stack's role, by its fixed name: grants made here (cfn-signal) then name this stack.
      role: iam.Role.fromRoleName(this, 'InstanceRole', settings.roleName),
      securityGroup: hostSecurityGroup,
      userData,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(30, { encrypted: true }) }],
    });

    const asg = new autoscaling.AutoScalingGroup(this, ASG_ID, {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      launchTemplate,
      minCapacity: settings.capacity.min,
      desiredCapacity: settings.capacity.desired,
      maxCapacity: settings.capacity.max,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({ additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB], gracePeriod: Duration.minutes(15) }),
      // One host at a time, none taken out of service before its replacement signalled ready.
      signals: autoscaling.Signals.waitForMinCapacity({ timeout: Duration.minutes(20) }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: settings.capacity.desired,
        waitOnResourceSignals: true,
        pauseTime: Duration.minutes(20),
      }),
    });
    Annotations.of(asg).acknowledgeWarning('@aws-cdk/aws-autoscaling:desiredCapacitySet', 'the desired capacity is a deployment setting, and a rolling update keeps that many hosts in service');
    // The logical id cfn-signal names.
    (asg.node.defaultChild as autoscaling.CfnAutoScalingGroup).overrideLogicalId(ASG_ID);

    const lb = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', { vpc, internetFacing: false, securityGroup: lbSecurityGroup, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
    const listener = lb.addListener('Api', { port: 80, open: false });
    listener.addTargets('Parents', {
      port: settings.parentPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [asg],
      healthCheck: { path: '/readyz', healthyHttpCodes: '200', interval: Duration.seconds(10), healthyThresholdCount: 2, unhealthyThresholdCount: 2 },
      deregistrationDelay: Duration.seconds(30),
    });

    // /metrics is for the host's CloudWatch agent: the load balancer's clients get the API only.
    listener.addAction('NoMetrics', { priority: 10, conditions: [elbv2.ListenerCondition.pathPatterns(['/metrics'])], action: elbv2.ListenerAction.fixedResponse(404) });

    new CfnOutput(this, 'LoadBalancerDns', { value: lb.loadBalancerDnsName });
  }
}
