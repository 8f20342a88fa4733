/**
 * The ARN SSM gives a parameter: arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME, where a
 * hierarchical NAME keeps its single leading slash (AWS Systems Manager User Guide, "Working with
 * parameter hierarchies"; IAM Service Authorization Reference, Systems Manager resource types).
 * One builder for the simulator's answers and the enclave's check of them.
 */
export function ssmParameterArn(where: { partition: string; region: string; account: string }, name: string): string {
  return `arn:${where.partition}:ssm:${where.region}:${where.account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}
