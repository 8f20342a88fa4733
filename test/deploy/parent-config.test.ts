/**
 * deploy/parent/parent.json (installed as /etc/enclavekit/parent.json) parses with the parent's own
 * schema and agrees with the enclave side of the deployment: the enclave's CID and port, the proxy
 * port the enclave dials, the KMS region and endpoint the proxy may reach, the card key, and the
 * wrapped keys the enclave's handlers ask for, with the encryption context they were made under
 * (docs/deploy.md steps 9 and 10).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kmsEndpointOf, parseEnclaveConfig } from '../../enclave/config.js';
import { parseParentConfig, proxyAllowlistOf } from '../../parent/config.js';
import { repoRoot } from './helpers.js';

const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');
const parent = parseParentConfig(JSON.parse(read('deploy/parent/parent.json')) as unknown);
const enclave = parseEnclaveConfig(JSON.parse(read('deploy/enclave/enclave.json')) as unknown);
const enclaveEnv = Object.fromEntries(
  read('deploy/systemd/enclave.env')
    .split('\n')
    .map((line) => /^([A-Z_]+)=(.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!]),
);

const portOf = (url: string) => new URL(url).port;

describe('deploy/parent/parent.json', () => {
  it('connects to the enclave of deploy/systemd/enclave.env on the port the enclave listens on', () => {
    expect(parent.enclaves).toEqual([`vsock://${enclaveEnv.ENCLAVE_CID}:${portOf(enclave.listen)}`]);
  });

  it('listens for KMS tunnels on any CID at the port the enclave dials on the parent (CID 3)', () => {
    expect(parent.proxy.listen).toBe(`vsock://4294967295:${portOf(enclave.proxy)}`);
    expect(new URL(enclave.proxy).hostname).toBe('3');
  });

  it('lets the proxy reach exactly the regional KMS endpoint the enclave uses', () => {
    expect(parent.region).toBe(enclave.kms.region);
    const endpoint = kmsEndpointOf(enclave);
    expect(proxyAllowlistOf(parent)).toEqual([`${endpoint.hostname}:443`]);
  });

  it('hands over the wrapped keys the enclave handlers derive from, under the internal key the enclave pins (never the card key), with their purposes', () => {
    // enclave/app/handlers.ts: keys.derive('tokenization' | 'blind-index'); docs/deploy.md step 9.
    expect(Object.keys(parent.wrappedKeys).sort()).toEqual(['blind-index', 'tokenization']);
    for (const [name, key] of Object.entries(parent.wrappedKeys)) {
      expect(key.keyId).not.toBe(enclave.cards?.cardKeyArn);
      expect(key.keyId).toBe(enclave.keys[name as 'tokenization' | 'blind-index']?.keyId);
      expect(key.encryptionContext).toEqual({ purpose: `${name}-key` });
    }
  });

  it('keeps the API on loopback, uses the instance credentials, and logs where the unit lets it write', () => {
    expect(parent.http.host).toBe('127.0.0.1');
    expect(parent.credentials).toEqual({ source: 'default-chain' });
    // deploy/systemd/enclavekit-parent.service: LogsDirectory=enclavekit under ProtectSystem=strict.
    expect(path.posix.dirname(parent.logFile ?? '')).toBe('/var/log/enclavekit');
    expect(read('deploy/systemd/enclavekit-parent.service')).toMatch(/^LogsDirectory=enclavekit$/m);
    // deploy/logrotate/enclavekit rotates that file, as the directory's owner (logrotate refuses to
    // rotate in a directory a non-root user can write to without a `su` line).
    const rotate = read('deploy/logrotate/enclavekit');
    const pattern = /^(\/\S+) \{$/m.exec(rotate)![1]!;
    expect(path.posix.matchesGlob(parent.logFile!, pattern)).toBe(true);
    expect(rotate).toMatch(/^\s+su enclavekit enclavekit$/m);
  });
});
