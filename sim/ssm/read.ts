/**
 * Parameter Store reads: GetParameter, GetParameters, GetParametersByPath, GetParameterHistory
 * (SSM API Reference). A SecureString is returned as its ciphertext unless WithDecryption is set;
 * then the caller's own kms:Decrypt on the key decides. `/aws/reference/secretsmanager/<id>` reads
 * the Secrets Manager simulator's secret ("Referencing AWS Secrets Manager secrets from Parameter
 * Store parameters").
 */
import { AwsFault } from '../json-service/fault.js';
import type { JsonOperation } from '../json-service/handler.js';
import { authorizeIdentity, type ServiceCaller } from '../json-service/caller.js';
import { readSecretReference } from '../secrets-manager/reference.js';
import { isUnderPath, nameOf, parameterArn, SECRETS_REFERENCE_PREFIX, splitSelector, type Selector } from './names.js';
import { AWS_MANAGED_SSM_KEY, decryptParameter, ssmKmsAccess } from './secure-string.js';
import { recordKey, type ParameterRecord, type ParameterVersion } from './store.js';
import { epochSeconds, type SsmContext } from './context.js';

export const PATH_PAGE_MAX = 10;
export const HISTORY_PAGE_MAX = 50;

function pick(record: ParameterRecord, selector: Selector): ParameterVersion | undefined {
  if (selector.kind === 'latest') return record.versions.at(-1);
  if (selector.kind === 'version') return record.versions.find((v) => v.version === selector.version);
  return record.versions.find((v) => v.labels.includes(selector.label));
}

async function valueOf(ctx: SsmContext, caller: ServiceCaller, record: ParameterRecord, v: ParameterVersion, decrypt: boolean): Promise<string> {
  if (v.type !== 'SecureString' || v.keyId === AWS_MANAGED_SSM_KEY || v.keyArn === undefined) return v.value;
  if (!decrypt) return v.value;
  return decryptParameter(ssmKmsAccess(ctx.stateDir, ctx.region, caller), parameterArn(ctx.region, record.account, record.name), v.value);
}

async function describe(ctx: SsmContext, caller: ServiceCaller, record: ParameterRecord, v: ParameterVersion, decrypt: boolean, selector?: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    Name: record.name,
    Type: v.type,
    Value: await valueOf(ctx, caller, record, v, decrypt),
    Version: v.version,
    LastModifiedDate: epochSeconds(v.lastModifiedDate),
    ARN: parameterArn(ctx.region, record.account, record.name),
    DataType: v.dataType,
  };
  if (selector !== undefined) out['Selector'] = selector;
  return out;
}

/** One named read (GetParameter / an entry of GetParameters); undefined when it does not exist. */
async function readOne(ctx: SsmContext, caller: ServiceCaller, given: string, decrypt: boolean, action: string, now: number): Promise<Record<string, unknown> | undefined> {
  const { name: rawName, selector, text } = splitSelector(given);
  const name = nameOf(rawName, ctx.region, caller.account);
  authorizeIdentity(caller, action, parameterArn(ctx.region, caller.account, name));
  if (name.startsWith(SECRETS_REFERENCE_PREFIX)) {
    if (!decrypt) throw new AwsFault('ValidationException', 'WithDecryption flag must be True for retrieving a Secret Manager secret.');
    const secret = await readSecretReference(ctx.stateDir, ctx.region, caller, name.slice(SECRETS_REFERENCE_PREFIX.length), selector.kind === 'label' ? selector.label : undefined, now);
    if (secret === undefined) return undefined;
    const out: Record<string, unknown> = {
      Name: name,
      Type: 'SecureString',
      Value: secret.value,
      Version: 0,
      SourceResult: JSON.stringify(secret.sourceResult),
      LastModifiedDate: epochSeconds(secret.createdDate),
      ARN: secret.arn,
      DataType: 'text',
    };
    if (text !== undefined) out['Selector'] = text;
    return out;
  }
  const record = ctx.state.current.parameters[recordKey(caller.account, name)];
  if (record === undefined) return undefined;
  const v = pick(record, selector);
  if (v === undefined) {
    const what = selector.kind === 'version' ? `version ${selector.version}` : `label ${selector.kind === 'label' ? selector.label : ''}`;
    throw new AwsFault('ParameterVersionNotFound', `Systems Manager could not find ${what} of ${name}. Verify the version and try again.`);
  }
  return describe(ctx, caller, record, v, decrypt, text);
}

export function getParameter(ctx: SsmContext): JsonOperation {
  return async (shape, caller, now) => {
    const given = shape.string('Name', { required: true, min: 1, max: 2048 });
    const decrypt = shape.boolean('WithDecryption') === true;
    const parameter = await readOne(ctx, caller, given, decrypt, 'ssm:GetParameter', now);
    if (parameter === undefined) throw new AwsFault('ParameterNotFound', '');
    return { Parameter: parameter };
  };
}

export function getParameters(ctx: SsmContext): JsonOperation {
  return async (shape, caller, now) => {
    const names = shape.stringList('Names', { maxItems: 10 });
    if (names.length === 0) throw new AwsFault('ValidationException', "1 validation error detected: Value '[]' at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1");
    const decrypt = shape.boolean('WithDecryption') === true;
    const parameters: Record<string, unknown>[] = [];
    const invalid: string[] = [];
    for (const given of [...new Set(names)]) {
      let found: Record<string, unknown> | undefined;
      try {
        found = await readOne(ctx, caller, given, decrypt, 'ssm:GetParameters', now);
      } catch (error) {
        // A missing version or label makes that name invalid, not the whole call.
        if (!(error instanceof AwsFault) || error.type !== 'ParameterVersionNotFound') throw error;
      }
      if (found === undefined) invalid.push(given);
      else parameters.push(found);
    }
    return { Parameters: parameters, InvalidParameters: invalid };
  };
}

/** NextToken: the base64 of the last name returned (the listing is in name order). */
function encodeToken(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64');
}

function decodeToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through
  }
  throw new AwsFault('ValidationException', 'The NextToken is not valid.');
}

export function getParametersByPath(ctx: SsmContext): JsonOperation {
  return async (shape, caller) => {
    const path = shape.string('Path', { required: true, min: 1, max: 2048 });
    const recursive = shape.boolean('Recursive') === true;
    const decrypt = shape.boolean('WithDecryption') === true;
    const max = shape.integer('MaxResults', { min: 1, max: PATH_PAGE_MAX }) ?? PATH_PAGE_MAX;
    const after = decodeToken(shape.string('NextToken', { min: 0, max: 4096 }));
    if (shape.has('ParameterFilters')) throw new AwsFault('ValidationException', 'ParameterFilters are not supported by the simulator.');
    if (!path.startsWith('/')) throw new AwsFault('ValidationException', 'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/".');
    authorizeIdentity(caller, 'ssm:GetParametersByPath', parameterArn(ctx.region, caller.account, path === '/' ? '' : path.replace(/\/$/, '')));
    const matching = Object.values(ctx.state.current.parameters)
      .filter((p) => p.account === caller.account && isUnderPath(p.name, path, recursive))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .filter((p) => after === undefined || p.name > after);
    const page = matching.slice(0, max);
    const parameters: Record<string, unknown>[] = [];
    for (const record of page) parameters.push(await describe(ctx, caller, record, record.versions.at(-1)!, decrypt));
    const result: Record<string, unknown> = { Parameters: parameters };
    if (matching.length > max) result['NextToken'] = encodeToken(page.at(-1)!.name);
    return result;
  };
}

export function getParameterHistory(ctx: SsmContext): JsonOperation {
  return async (shape, caller) => {
    const name = nameOf(shape.string('Name', { required: true, min: 1, max: 2048 }), ctx.region, caller.account);
    const decrypt = shape.boolean('WithDecryption') === true;
    const max = shape.integer('MaxResults', { min: 1, max: HISTORY_PAGE_MAX }) ?? HISTORY_PAGE_MAX;
    const token = shape.string('NextToken', { min: 0, max: 4096 });
    const start = token === undefined ? 0 : Number(decodeToken(token));
    if (!Number.isInteger(start) || start < 0) throw new AwsFault('ValidationException', 'The NextToken is not valid.');
    authorizeIdentity(caller, 'ssm:GetParameterHistory', parameterArn(ctx.region, caller.account, name));
    const record = ctx.state.current.parameters[recordKey(caller.account, name)];
    if (record === undefined) throw new AwsFault('ParameterNotFound', '');
    const page = record.versions.slice(start, start + max);
    const parameters: Record<string, unknown>[] = [];
    for (const v of page) {
      const entry: Record<string, unknown> = {
        Name: record.name,
        Type: v.type,
        LastModifiedDate: epochSeconds(v.lastModifiedDate),
        LastModifiedUser: v.lastModifiedUser,
        Value: await valueOf(ctx, caller, record, v, decrypt),
        Version: v.version,
        Labels: v.labels,
        Tier: v.tier,
        Policies: [],
        DataType: v.dataType,
      };
      if (v.keyId !== undefined) entry['KeyId'] = v.keyId;
      if (v.description !== undefined) entry['Description'] = v.description;
      if (v.allowedPattern !== undefined) entry['AllowedPattern'] = v.allowedPattern;
      parameters.push(entry);
    }
    const result: Record<string, unknown> = { Parameters: parameters };
    if (start + max < record.versions.length) result['NextToken'] = encodeToken(String(start + max));
    return result;
  };
}
