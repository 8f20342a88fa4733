/**
 * The SSM Parameter Store simulator driven with the unmodified @aws-sdk/client-ssm: types, tiers and
 * their size limits, overwrite and versions, labels and selectors, paths with paging, deletes,
 * durability across a restart, and SigV4.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteParameterCommand,
  DeleteParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  LabelParameterVersionCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { ssmStatePath } from '../../sim/ssm/index.js';
import { ADMIN, failure, startStores, type StoresHarness } from './harness.js';

let h: StoresHarness;
beforeAll(async () => {
  h = await startStores();
});
afterAll(async () => {
  await h.close();
});

describe('PutParameter and GetParameter', () => {
  it('stores a String, refuses a second put without Overwrite, and versions each overwrite', async () => {
    const ssm = h.ssmClient();
    expect(await ssm.send(new PutParameterCommand({ Name: '/app/prod/db-host', Value: 'db-1', Type: 'String' }))).toMatchObject({ Version: 1, Tier: 'Standard' });
    const again = await failure(ssm.send(new PutParameterCommand({ Name: '/app/prod/db-host', Value: 'db-2', Type: 'String' })));
    expect(again.name).toBe('ParameterAlreadyExists');
    expect((await ssm.send(new PutParameterCommand({ Name: '/app/prod/db-host', Value: 'db-2', Overwrite: true }))).Version).toBe(2);
    const got = (await ssm.send(new GetParameterCommand({ Name: '/app/prod/db-host' }))).Parameter!;
    expect(got).toMatchObject({ Name: '/app/prod/db-host', Type: 'String', Value: 'db-2', Version: 2, DataType: 'text', ARN: 'arn:aws:ssm:us-east-1:111122223333:parameter/app/prod/db-host' });
    expect(got.LastModifiedDate).toBeInstanceOf(Date);
    const history = (await ssm.send(new GetParameterHistoryCommand({ Name: '/app/prod/db-host' }))).Parameters!;
    expect(history.map((p) => [p.Version, p.Value])).toEqual([[1, 'db-1'], [2, 'db-2']]);
    expect(history[0]!.LastModifiedUser).toBe(ADMIN.arn);
  });

  it('keeps a StringList as its comma-separated text and a flat name with a parameter/ ARN', async () => {
    const ssm = h.ssmClient();
    await ssm.send(new PutParameterCommand({ Name: 'regions', Value: 'eu-west-1,us-east-1', Type: 'StringList' }));
    const got = (await ssm.send(new GetParameterCommand({ Name: 'regions' }))).Parameter!;
    expect(got).toMatchObject({ Type: 'StringList', Value: 'eu-west-1,us-east-1', ARN: 'arn:aws:ssm:us-east-1:111122223333:parameter/regions' });
    expect((await ssm.send(new GetParameterCommand({ Name: got.ARN! }))).Parameter!.Value).toBe('eu-west-1,us-east-1');
  });

  it('enforces the tier limits: Standard 4096 characters, Advanced 8192, no downgrade', async () => {
    const ssm = h.ssmClient();
    const big = await failure(ssm.send(new PutParameterCommand({ Name: '/limits/a', Value: 'x'.repeat(4097), Type: 'String' })));
    expect(big.name).toBe('ValidationException');
    expect(big.message).toMatch(/Standard tier parameters support a maximum parameter value of 4096 characters/);
    expect((await ssm.send(new PutParameterCommand({ Name: '/limits/a', Value: 'x'.repeat(4096), Type: 'String' }))).Tier).toBe('Standard');
    expect((await ssm.send(new PutParameterCommand({ Name: '/limits/b', Value: 'x'.repeat(8192), Type: 'String', Tier: 'Advanced' }))).Tier).toBe('Advanced');
    const over = await failure(ssm.send(new PutParameterCommand({ Name: '/limits/c', Value: 'x'.repeat(8193), Type: 'String', Tier: 'Advanced' })));
    expect(over.name).toBe('ValidationException');
    const down = await failure(ssm.send(new PutParameterCommand({ Name: '/limits/b', Value: 'small', Overwrite: true, Tier: 'Standard' })));
    expect(down.message).toMatch(/can't downgrade/);
    // Intelligent-Tiering picks Advanced only for a value over the Standard limit.
    expect((await ssm.send(new PutParameterCommand({ Name: '/limits/d', Value: 'x'.repeat(5000), Type: 'String', Tier: 'Intelligent-Tiering' }))).Tier).toBe('Advanced');
    expect((await ssm.send(new PutParameterCommand({ Name: '/limits/e', Value: 'x', Type: 'String', Tier: 'Intelligent-Tiering' }))).Tier).toBe('Standard');
  });

  it('refuses reserved and malformed names', async () => {
    const ssm = h.ssmClient();
    for (const name of ['/aws/x', 'ssm-thing', 'a/b', '/a//b', '/bad name']) {
      expect((await failure(ssm.send(new PutParameterCommand({ Name: name, Value: 'v', Type: 'String' })))).name).toBe('ValidationException');
    }
    const deep = `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join('/')}`;
    expect((await failure(ssm.send(new PutParameterCommand({ Name: deep, Value: 'v', Type: 'String' })))).name).toBe('HierarchyLevelLimitExceededException');
  });

  it('checks AllowedPattern, and refuses a pattern that does not compile', async () => {
    const ssm = h.ssmClient();
    const mismatch = await failure(ssm.send(new PutParameterCommand({ Name: '/pat/port', Value: 'eighty', Type: 'String', AllowedPattern: '^\\d+$' })));
    expect(mismatch.name).toBe('ParameterPatternMismatchException');
    expect((await ssm.send(new PutParameterCommand({ Name: '/pat/port', Value: '80', Type: 'String', AllowedPattern: '^\\d+$' }))).Version).toBe(1);
    // The pattern stays with the parameter: a later overwrite is checked against it.
    expect((await failure(ssm.send(new PutParameterCommand({ Name: '/pat/port', Value: 'x', Overwrite: true })))).name).toBe('ParameterPatternMismatchException');
    expect((await failure(ssm.send(new PutParameterCommand({ Name: '/pat/bad', Value: 'x', Type: 'String', AllowedPattern: '(' })))).name).toBe('ValidationException');
  });

  it('keeps 100 versions, dropping the oldest unless it carries a label', async () => {
    const ssm = h.ssmClient();
    for (let i = 1; i <= 100; i++) await ssm.send(new PutParameterCommand({ Name: '/many/p', Value: `v${i}`, Type: 'String', Overwrite: true }));
    await ssm.send(new LabelParameterVersionCommand({ Name: '/many/p', ParameterVersion: 1, Labels: ['first'] }));
    const blocked = await failure(ssm.send(new PutParameterCommand({ Name: '/many/p', Value: 'v101', Overwrite: true })));
    expect(blocked.name).toBe('ParameterMaxVersionLimitExceeded');
    await ssm.send(new LabelParameterVersionCommand({ Name: '/many/p', ParameterVersion: 2, Labels: ['first'] }));
    expect((await ssm.send(new PutParameterCommand({ Name: '/many/p', Value: 'v101', Overwrite: true }))).Version).toBe(101);
    expect((await failure(ssm.send(new GetParameterCommand({ Name: '/many/p:1' })))).name).toBe('ParameterVersionNotFound');
    expect((await ssm.send(new GetParameterCommand({ Name: '/many/p:first' }))).Parameter!.Value).toBe('v2');
  });

  it('answers ParameterNotFound for a missing name', async () => {
    expect((await failure(h.ssmClient().send(new GetParameterCommand({ Name: '/nope' })))).name).toBe('ParameterNotFound');
  });
});

describe('labels and selectors', () => {
  it('reads name:version and name:label, moves a label, and reports invalid labels', async () => {
    const ssm = h.ssmClient();
    for (const v of ['v1', 'v2', 'v3']) await ssm.send(new PutParameterCommand({ Name: '/sel/p', Value: v, Type: 'String', Overwrite: true }));
    expect((await ssm.send(new GetParameterCommand({ Name: '/sel/p:1' }))).Parameter).toMatchObject({ Value: 'v1', Version: 1, Selector: ':1', Name: '/sel/p' });
    const labelled = await ssm.send(new LabelParameterVersionCommand({ Name: '/sel/p', ParameterVersion: 2, Labels: ['live', '1bad', 'awsx'] }));
    expect(labelled).toMatchObject({ ParameterVersion: 2, InvalidLabels: ['1bad', 'awsx'] });
    expect((await ssm.send(new GetParameterCommand({ Name: '/sel/p:live' }))).Parameter!.Value).toBe('v2');
    await ssm.send(new LabelParameterVersionCommand({ Name: '/sel/p', Labels: ['live'] }));
    expect((await ssm.send(new GetParameterCommand({ Name: '/sel/p:live' }))).Parameter!.Value).toBe('v3');
    const history = (await ssm.send(new GetParameterHistoryCommand({ Name: '/sel/p' }))).Parameters!;
    expect(history.map((p) => p.Labels)).toEqual([[], [], ['live']]);
    expect((await failure(ssm.send(new GetParameterCommand({ Name: '/sel/p:9' })))).name).toBe('ParameterVersionNotFound');
    const many = await ssm.send(new GetParametersCommand({ Names: ['/sel/p:live', '/sel/p:9', '/missing'] }));
    expect(many.Parameters!.map((p) => p.Value)).toEqual(['v3']);
    expect(many.InvalidParameters).toEqual(['/sel/p:9', '/missing']);
  });
});

describe('GetParametersByPath', () => {
  it('lists one level or the whole subtree, page by page', async () => {
    const ssm = h.ssmClient();
    const names = ['/tree/a', '/tree/b', '/tree/c', '/tree/sub/d', '/tree/sub/deep/e', '/treeish/x'];
    for (const name of names) await ssm.send(new PutParameterCommand({ Name: name, Value: name, Type: 'String' }));
    const collect = async (recursive: boolean): Promise<string[]> => {
      const seen: string[] = [];
      let token: string | undefined;
      for (let page = 0; page < 10; page++) {
        const out = await ssm.send(new GetParametersByPathCommand({ Path: '/tree', Recursive: recursive, MaxResults: 2, NextToken: token }));
        expect(out.Parameters!.length).toBeLessThanOrEqual(2);
        seen.push(...out.Parameters!.map((p) => p.Name!));
        token = out.NextToken;
        if (token === undefined) break;
      }
      expect(token).toBeUndefined();
      return seen;
    };
    expect(await collect(false)).toEqual(['/tree/a', '/tree/b', '/tree/c']);
    expect(await collect(true)).toEqual(['/tree/a', '/tree/b', '/tree/c', '/tree/sub/d', '/tree/sub/deep/e']);
    expect((await failure(ssm.send(new GetParametersByPathCommand({ Path: '/tree', MaxResults: 11 })))).name).toBe('ValidationException');
  });
});

describe('DeleteParameter(s)', () => {
  it('deletes one or several, naming the missing ones', async () => {
    const ssm = h.ssmClient();
    for (const n of ['/del/a', '/del/b', '/del/c']) await ssm.send(new PutParameterCommand({ Name: n, Value: 'v', Type: 'String' }));
    await ssm.send(new DeleteParameterCommand({ Name: '/del/a' }));
    expect((await failure(ssm.send(new DeleteParameterCommand({ Name: '/del/a' })))).name).toBe('ParameterNotFound');
    expect(await ssm.send(new DeleteParametersCommand({ Names: ['/del/b', '/del/c', '/del/zz'] }))).toMatchObject({ DeletedParameters: ['/del/b', '/del/c'], InvalidParameters: ['/del/zz'] });
    expect((await failure(ssm.send(new GetParameterCommand({ Name: '/del/b' })))).name).toBe('ParameterNotFound');
  });
});

describe('durability and authentication', () => {
  it('keeps every acknowledged version across a restart', async () => {
    const ssm = h.ssmClient();
    await ssm.send(new PutParameterCommand({ Name: '/durable/p', Value: 'one', Type: 'String' }));
    await ssm.send(new PutParameterCommand({ Name: '/durable/p', Value: 'two', Type: 'String', Overwrite: true }));
    await h.restart();
    const after = h.ssmClient();
    expect((await after.send(new GetParameterCommand({ Name: '/durable/p:1' }))).Parameter!.Value).toBe('one');
    expect((await after.send(new GetParameterCommand({ Name: '/durable/p' }))).Parameter!.Value).toBe('two');
    const file = JSON.parse(await readFile(ssmStatePath(h.dir), 'utf8')) as { format: number };
    expect(file.format).toBe(1);
  });

  it('refuses a request signed with the wrong secret or scoped to the wrong service', async () => {
    const wrong = h.ssmClient({ ...ADMIN, secretAccessKey: 'z'.repeat(40) });
    expect((await failure(wrong.send(new GetParameterCommand({ Name: '/durable/p' })))).name).toBe('InvalidSignatureException');
    // A signature scoped to another region does not pass.
    const elsewhere = new SSMClient({ endpoint: h.ssm.endpoint, region: 'eu-west-1', credentials: ADMIN, maxAttempts: 1, requestHandler: h.ssmClient().config.requestHandler });
    const scoped = await failure(elsewhere.send(new GetParameterCommand({ Name: '/durable/p' })));
    expect(scoped.name).toBe('InvalidSignatureException');
    expect(scoped.message).toMatch(/region/);
    elsewhere.destroy();
  });
});
