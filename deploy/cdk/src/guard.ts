/** A CloudFormation rule that refuses to deploy a stack outside the account and Region its policies name. */
import { Aws, CfnRule, Fn, type Stack } from 'aws-cdk-lib';

export function pinAccountAndRegion(stack: Stack, account: string, region: string): void {
  new CfnRule(stack, 'DeployOnlyToTheConfiguredAccountAndRegion', {
    assertions: [
      { assert: Fn.conditionEquals(Aws.ACCOUNT_ID, account), assertDescription: `the key policies name account ${account}` },
      { assert: Fn.conditionEquals(Aws.REGION, region), assertDescription: `the settings name Region ${region}` },
    ],
  });
}
