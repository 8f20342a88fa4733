/**
 * A recording relay: listens on a Unix path or a loopback TCP port, forwards every connection to a
 * target, and keeps every byte in both directions. Placed on every socket the parent handles, it
 * shows exactly what the parent reads and writes.
 */
import net from 'node:net';

export interface Tap {
  /** Where clients connect: a Unix path, or the TCP port on 127.0.0.1. */
  readonly address: string | number;
  /** Everything relayed, both directions, in arrival order. */
  bytes(): Buffer;
  chunks(): { dir: 'in' | 'out'; data: Buffer }[];
  /** Drops every relayed connection (simulates a broken link). */
  resetConnections(): void;
  close(): Promise<void>;
}

export async function startTap(listen: { path: string } | { port: 0 }, target: () => net.NetConnectOpts): Promise<Tap> {
  const recorded: { dir: 'in' | 'out'; data: Buffer }[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target());
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d: Buffer) => recorded.push({ dir: 'in', data: Buffer.from(d) }));
    upstream.on('data', (d: Buffer) => recorded.push({ dir: 'out', data: Buffer.from(d) }));
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.end());
    upstream.once('close', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen('path' in listen ? listen.path : { host: '127.0.0.1', port: 0 }, resolve));
  const address = 'path' in listen ? listen.path : (server.address() as net.AddressInfo).port;
  return {
    address,
    bytes: () => Buffer.concat(recorded.map((c) => c.data)),
    chunks: () => recorded,
    resetConnections: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** True when `haystack` contains `secret` raw, as hex (either case), or as base64/base64url. */
export function containsSecret(haystack: Buffer | string, secret: Uint8Array | string): boolean {
  const text = typeof haystack === 'string' ? haystack : haystack.toString('latin1');
  const raw = Buffer.from(secret);
  const forms = [raw.toString('latin1'), raw.toString('hex'), raw.toString('hex').toUpperCase(), raw.toString('base64'), raw.toString('base64url')];
  if (typeof secret === 'string') forms.push(secret);
  // Also the base64 of the secret at each of the three alignments inside a longer base64 string.
  for (let shift = 1; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift), raw]).toString('base64').slice(4);
    forms.push(b64.slice(0, Math.max(8, b64.length - 4)));
  }
  return forms.some((f) => f.length >= 4 && text.includes(f));
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * Every place a secret shows up, as `"<secret name> in <haystack name>"` (never the value, so a
 * failing assertion prints no card data). Before searching, `harmless` strings (what the API is
 * meant to return, e.g. tokens) and UUIDs (request ids) are cut out of the text: both are
 * decimal-rich, and a 6-digit middle would turn up in a random one by chance (a token shares its
 * first 6 and last 4 digits with the PAN, so "111111" sits in "411111 1…" one time in ten).
 * A harmless string holding a whole secret of 10 or more characters (a PAN, a key) is reported, so
 * the cut cannot hide one; shorter secrets (middle digits) turn up in random tokens by chance, so
 * the caller checks those where they would mean something (a token's middle against its PAN's).
 *
 * Choosing short secrets: cut-free text still holds decimal runs, above all certificate times
 * (YYMMDDHHMMSS, in every attestation document on the enclave link). Middle digits with two
 * adjacent digits of 6 or more ("…88…") can never be part of such a run: in a time, every other
 * digit is a tens digit of 5 or less.
 */
export function findLeaks(
  haystacks: Readonly<Record<string, Buffer | string>>,
  secrets: Readonly<Record<string, Uint8Array | string>>,
  harmless: Iterable<string> = [],
): string[] {
  const found: string[] = [];
  const cut = [...new Set(harmless)].filter((h) => h.length > 0).sort((a, b) => b.length - a.length);
  for (const h of cut) {
    for (const [name, secret] of Object.entries(secrets)) if (secret.length >= 10 && containsSecret(h, secret)) found.push(`${name} in a harmless value`);
  }
  for (const [where, haystack] of Object.entries(haystacks)) {
    let text = (typeof haystack === 'string' ? haystack : haystack.toString('latin1')).replace(UUID, ' ');
    for (const h of cut) text = text.replaceAll(h, ' ');
    for (const [name, secret] of Object.entries(secrets)) if (containsSecret(text, secret)) found.push(`${name} in ${where}`);
  }
  return found;
}
