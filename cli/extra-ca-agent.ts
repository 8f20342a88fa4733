/**
 * The HTTPS agent of every CLI AWS client that takes a CA file (`--ca-file`, the simulators'
 * caFile): the file is an *extra* trust anchor. Node's `ca` option replaces the default roots
 * (Node.js docs, tls.createSecureContext: "ca ... Optionally override the trusted CA
 * certificates"), so the defaults are listed explicitly: tls.getCACertificates('default') where
 * Node has it (it includes NODE_EXTRA_CA_CERTS), else tls.rootCertificates (the bundled Mozilla store).
 */
import https from 'node:https';
import tls from 'node:tls';

type GetCaCertificates = (type: 'default') => string[];

/** The default trust anchors followed by `extraCa` (PEM). */
export function trustAnchorsWith(extraCa: Buffer | string): string[] {
  const getDefaults = (tls as unknown as { getCACertificates?: GetCaCertificates }).getCACertificates;
  const defaults = getDefaults === undefined ? tls.rootCertificates : getDefaults('default');
  return [...defaults, extraCa.toString()];
}

/** An agent trusting the default roots and, when given, `extraCa` too. */
export function extraCaAgent(extraCa: Buffer | string | undefined, options: https.AgentOptions = {}): https.Agent {
  return new https.Agent({ ...options, ...(extraCa === undefined ? {} : { ca: trustAnchorsWith(extraCa) }) });
}
