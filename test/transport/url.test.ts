import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../shared/errors.js';
import { VSOCK_CID_ANY, assertConnectable, formatTransportUrl, parseTransportUrl } from '../../shared/transport/url.js';

describe('transport URLs', () => {
  it('parses every supported scheme', () => {
    expect(parseTransportUrl('tcp://127.0.0.1:8443')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 8443 });
    expect(parseTransportUrl('tcp://[::1]:80/')).toEqual({ kind: 'tcp', host: '::1', port: 80 });
    expect(parseTransportUrl('tcp://kms.eu-west-1.amazonaws.com:443')).toEqual({ kind: 'tcp', host: 'kms.eu-west-1.amazonaws.com', port: 443 });
    expect(parseTransportUrl('unix:///run/enclavekit/link.sock')).toEqual({ kind: 'unix', path: '/run/enclavekit/link.sock' });
    expect(parseTransportUrl('unix:///tmp/with%20space.sock')).toEqual({ kind: 'unix', path: '/tmp/with space.sock' });
    expect(parseTransportUrl('ws://localhost:8080/rpc')).toEqual({ kind: 'ws', host: 'localhost', port: 8080, path: '/rpc' });
    expect(parseTransportUrl('ws://[::1]:9/')).toEqual({ kind: 'ws', host: '::1', port: 9, path: '/' });
    expect(parseTransportUrl('ws://example.org')).toEqual({ kind: 'ws', host: 'example.org', port: 80, path: '/' });
    expect(parseTransportUrl('ws+unix:///tmp/ek.sock:/rpc')).toEqual({ kind: 'ws+unix', socketPath: '/tmp/ek.sock', path: '/rpc' });
    expect(parseTransportUrl('ws+unix:///tmp/ek.sock')).toEqual({ kind: 'ws+unix', socketPath: '/tmp/ek.sock', path: '/' });
    expect(parseTransportUrl('vsock://16:5000')).toEqual({ kind: 'vsock', cid: 16, port: 5000 });
    expect(parseTransportUrl('vsock://3:4294967294')).toEqual({ kind: 'vsock', cid: 3, port: 4294967294 });
    expect(parseTransportUrl('vsock://any:5000')).toEqual({ kind: 'vsock', cid: VSOCK_CID_ANY, port: 5000 });
    expect(parseTransportUrl('VSOCK://1:2')).toEqual({ kind: 'vsock', cid: 1, port: 2 });
  });

  it('formats back to an equivalent URL', () => {
    for (const url of ['tcp://127.0.0.1:1', 'tcp://[::1]:2', 'unix:///a/b%20c.sock', 'ws://h:3/p?q=1', 'ws+unix:///s.sock:/p', 'vsock://any:7', 'vsock://16:5000']) {
      expect(parseTransportUrl(formatTransportUrl(parseTransportUrl(url)))).toEqual(parseTransportUrl(url));
    }
  });

  const bad: [string, RegExp][] = [
    ['http://localhost:80', /unknown scheme "http"/],
    ['wss://localhost:443/x', /unknown scheme "wss"/],
    ['localhost:80', /scheme/],
    ['tcp://localhost', /port is required/],
    ['tcp://localhost:65536', /at most 65535/],
    ['tcp://localhost:-1', /decimal/],
    ['tcp://localhost:80x', /decimal/],
    ['tcp://user:pw@localhost:80', /host:port only/],
    ['tcp://local_host:80', /bad host/],
    ['tcp://[::1:80', /bad host|IPv6/],
    ['tcp://h:1/path', /host:port only/],
    ['unix://relative.sock', /absolute path/],
    ['unix://host/abs.sock', /absolute path/],
    [`unix:///${'x'.repeat(120)}`, /longer than 107/],
    ['unix:///bad%zz', /percent-escape/],
    ['unix:///a%00b', /NUL/],
    ['ws://u:p@h:1/', /credentials/],
    ['ws+unix://rel.sock:/p', /absolute/],
    ['ws+unix:///s.sock:p', /must start with/],
    ['vsock://16', /vsock:\/\/CID:PORT/],
    ['vsock://16:4294967296', /at most 4294967295/],
    ['vsock://x:1', /decimal/],
    ['tcp://h:1#frag', /fragment/],
  ];
  for (const [url, message] of bad) {
    it(`refuses ${url.slice(0, 40)} with ERR_TRANSPORT`, () => {
      let caught: unknown;
      try {
        parseTransportUrl(url);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ProtocolError);
      expect(caught).toMatchObject({ code: 'ERR_TRANSPORT' });
      expect((caught as Error).message).toMatch(message);
      // Never echoes the URL (it could carry credentials).
      expect((caught as Error).message).not.toContain('pw@');
    });
  }

  it('accepts port 0 and CID any for listening only', () => {
    expect(() => assertConnectable(parseTransportUrl('tcp://127.0.0.1:0'))).toThrow(/only valid for listening/);
    expect(() => assertConnectable(parseTransportUrl('vsock://any:5'))).toThrow(/only valid for listening/);
    expect(() => assertConnectable(parseTransportUrl('vsock://1:0'))).toThrow(/only valid for listening/);
    expect(() => assertConnectable(parseTransportUrl('unix:///x.sock'))).not.toThrow();
  });
});
