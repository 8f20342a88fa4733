/**
 * Parameter Store writes: PutParameter, DeleteParameter(s), LabelParameterVersion (SSM API
 * Reference). Limits: "Managing parameter tiers" (Standard 4 KB values, Advanced 8 KB), "Working
 * with parameter labels" (10 labels per version, a label on one version at a time), 100 versions
 * per parameter (the oldest is dropped unless it carries a label).
 */
import { AwsFault } from '../json-service/fault.js';
import type { JsonOperation } from '../json-service/handler.js';
import { authorizeIdentity } from '../json-service/caller.js';
import type { RequestShape } from '../kms/shapes.js';
import { checkParameterName, isValidLabel, nameOf, parameterArn } from './names.js';
import { AWS_MANAGED_SSM_KEY, encryptParameter, ssmKmsAccess } from './secure-string.js';
import { PARAMETER_TYPES, recordKey, TIERS, type ParameterVersion, type Tier } from './store.js';
import type { SsmContext } from './context.js';

export const STANDARD_VALUE_MAX = 4096;
export const ADVANCED_VALUE_MAX = 8192;
export const MAX_VERSIONS = 100;
export const MAX_LABELS_PER_VERSION = 10;

function tierFor(requested: (typeof TIERS)[number] | undefined, previous: Tier | undefined, value: string): Tier {
  if (requested === 'Advanced') return 'Advanced';
  if (requested === 'Intelligent-Tiering') return value.length > STANDARD_VALUE_MAX || previous === 'Advanced' ? 'Advanced' : 'Standard';
  if (requested === 'Standard') {
    if (previous === 'Advanced') {
      throw new AwsFault('ValidationException', "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.");
    }
    return 'Standard';
  }
  return previous ?? 'Standard';
}

/** AllowedPattern is a regular expression; one that does not compile is the caller's error. */
function patternOf(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch {
    throw new AwsFault('ValidationException', 'AllowedPattern is not a valid regular expression.');
  }
}

function readTags(shape: RequestShape): { Key: string; Value: string }[] {
  return shape.structureList('Tags').map((t) => ({ Key: t.string('Key', { required: true, min: 1, max: 128 }), Value: t.string('Value', { required: true, min: 0, max: 256 }) }));
}

export function putParameter(ctx: SsmContext): JsonOperation {
  return async (shape, caller, now) => {
    const name = nameOf(shape.string('Name', { required: true, min: 1, max: 2048 }), ctx.region, caller.account);
    const value = shape.string('Value', { required: true, min: 0, max: ADVANCED_VALUE_MAX });
    const requestedType = shape.enumOf('Type', PARAMETER_TYPES);
    const keyIdMember = shape.string('KeyId', { min: 1, max: 256 });
    const overwrite = shape.boolean('Overwrite') === true;
    const requestedTier = shape.enumOf('Tier', TIERS);
    const description = shape.string('Description', { min: 0, max: 1024 });
    const allowedPattern = shape.string('AllowedPattern', { min: 0, max: 1024 });
    const dataType = shape.string('DataType', { min: 0, max: 128 }) ?? 'text';
    const tags = readTags(shape);
    checkParameterName(name);
    const arn = parameterArn(ctx.region, caller.account, name);
    authorizeIdentity(caller, 'ssm:PutParameter', arn);
    if (tags.length > 0) authorizeIdentity(caller, 'ssm:AddTagsToResource', arn);
    if (tags.length > 0 && overwrite) {
      throw new AwsFault('ValidationException', 'Invalid request: tags and overwrite can\'t be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.');
    }
    if (dataType !== 'text') throw new AwsFault('ValidationException', `The following data type is not supported by the simulator: ${dataType}. Use text.`);
    if (allowedPattern !== undefined) patternOf(allowedPattern);
    return ctx.state.mutate(async (draft) => {
      const key = recordKey(caller.account, name);
      const existing = draft.parameters[key];
      if (existing !== undefined && !overwrite) {
        throw new AwsFault('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
      }
      const latest = existing?.versions.at(-1);
      const type = requestedType ?? latest?.type;
      if (type === undefined) throw new AwsFault('ValidationException', 'A parameter type is required when you create a parameter.');
      if (keyIdMember !== undefined && type !== 'SecureString') throw new AwsFault('ValidationException', 'KeyId is required for SecureString type parameter only.');
      const tier = tierFor(requestedTier, latest?.tier, value);
      if (tier === 'Standard' && value.length > STANDARD_VALUE_MAX) {
        throw new AwsFault('ValidationException', `Standard tier parameters support a maximum parameter value of ${STANDARD_VALUE_MAX} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html`);
      }
      const next: ParameterVersion = {
        version: (latest?.version ?? 0) + 1,
        type,
        value,
        tier,
        dataType,
        labels: [],
        lastModifiedDate: now,
        lastModifiedUser: caller.arn,
      };
      const keptDescription = description ?? latest?.description;
      if (keptDescription !== undefined) next.description = keptDescription;
      // The pattern stays with the parameter, so an overwrite without one is checked against it.
      const keptPattern = allowedPattern ?? latest?.allowedPattern;
      if (keptPattern !== undefined) {
        if (!patternOf(keptPattern).test(value)) {
          throw new AwsFault('ParameterPatternMismatchException', `Parameter value, cannot be validated against allowedPattern: ${keptPattern}`);
        }
        next.allowedPattern = keptPattern;
      }
      if (type === 'SecureString') {
        const keyId = keyIdMember ?? (latest?.type === 'SecureString' ? latest.keyId : undefined) ?? AWS_MANAGED_SSM_KEY;
        next.keyId = keyId;
        if (keyId !== AWS_MANAGED_SSM_KEY) {
          const sealed = await encryptParameter(ssmKmsAccess(ctx.stateDir, ctx.region, caller), keyId, arn, value, tier);
          next.value = sealed.blob;
          next.keyArn = sealed.keyArn;
        }
      }
      const versions = [...(existing?.versions ?? []), next];
      if (versions.length > MAX_VERSIONS) {
        const oldest = versions[0]!;
        if (oldest.labels.length > 0) {
          throw new AwsFault('ParameterMaxVersionLimitExceeded', `You attempted to create a new version of ${name} by calling the PutParameter API with the overwrite flag. Version ${oldest.version}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.`);
        }
        versions.shift();
      }
      draft.parameters[key] = { account: caller.account, name, versions, tags: existing?.tags ?? tags };
      return { Version: next.version, Tier: tier };
    });
  };
}

export function deleteParameter(ctx: SsmContext): JsonOperation {
  return async (shape, caller) => {
    const name = nameOf(shape.string('Name', { required: true, min: 1, max: 2048 }), ctx.region, caller.account);
    authorizeIdentity(caller, 'ssm:DeleteParameter', parameterArn(ctx.region, caller.account, name));
    return ctx.state.mutate((draft) => {
      const key = recordKey(caller.account, name);
      if (draft.parameters[key] === undefined) throw new AwsFault('ParameterNotFound', '');
      delete draft.parameters[key];
      return {};
    });
  };
}

export function deleteParameters(ctx: SsmContext): JsonOperation {
  return async (shape, caller) => {
    const names = shape.stringList('Names', { maxItems: 10 });
    if (names.length === 0) throw new AwsFault('ValidationException', "1 validation error detected: Value '[]' at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1");
    const resolved = names.map((n) => nameOf(n, ctx.region, caller.account));
    for (const name of resolved) authorizeIdentity(caller, 'ssm:DeleteParameters', parameterArn(ctx.region, caller.account, name));
    return ctx.state.mutate((draft) => {
      const deleted: string[] = [];
      const invalid: string[] = [];
      names.forEach((given, i) => {
        const key = recordKey(caller.account, resolved[i]!);
        if (draft.parameters[key] === undefined) invalid.push(given);
        else {
          delete draft.parameters[key];
          deleted.push(given);
        }
      });
      return { DeletedParameters: deleted, InvalidParameters: invalid };
    });
  };
}

export function labelParameterVersion(ctx: SsmContext): JsonOperation {
  return async (shape, caller) => {
    const name = nameOf(shape.string('Name', { required: true, min: 1, max: 2048 }), ctx.region, caller.account);
    const requestedVersion = shape.integer('ParameterVersion', { min: 1, max: Number.MAX_SAFE_INTEGER });
    const labels = shape.stringList('Labels', { maxItems: 10 });
    if (labels.length === 0) throw new AwsFault('ValidationException', "1 validation error detected: Value '[]' at 'labels' failed to satisfy constraint: Member must have length greater than or equal to 1");
    authorizeIdentity(caller, 'ssm:LabelParameterVersion', parameterArn(ctx.region, caller.account, name));
    return ctx.state.mutate((draft) => {
      const record = draft.parameters[recordKey(caller.account, name)];
      if (record === undefined) throw new AwsFault('ParameterNotFound', '');
      const target = requestedVersion === undefined ? record.versions.at(-1)! : record.versions.find((v) => v.version === requestedVersion);
      if (target === undefined) {
        throw new AwsFault('ParameterVersionNotFound', `Systems Manager could not find version ${requestedVersion} of ${name}. Verify the version and try again.`);
      }
      const valid = labels.filter(isValidLabel);
      const invalid = labels.filter((l) => !isValidLabel(l));
      const added = valid.filter((l) => !target.labels.includes(l));
      if (target.labels.length + added.length > MAX_LABELS_PER_VERSION) {
        throw new AwsFault('ParameterVersionLabelLimitExceeded', `An parameter version can have maximum ${MAX_LABELS_PER_VERSION} labels.Move one or more labels to another version and try again.`);
      }
      // A label names one version: moving it here removes it from the version that had it.
      for (const v of record.versions) if (v !== target) v.labels = v.labels.filter((l) => !added.includes(l));
      target.labels.push(...added);
      return { InvalidLabels: invalid, ParameterVersion: target.version };
    });
  };
}
