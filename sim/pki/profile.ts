/**
 * The shape of the simulated Nitro PKI, copied from AWS's chain (docs/formats.md section 1.3, and the
 * certificates of vectors/attestation/real_doc_16.cbor as printed by `openssl x509 -text`):
 *
 *   root      C,O,OU,CN                     CA, no pathLen   KU digitalSignature,keyCertSign,cRLSign  30 years
 *   regional  C,O,OU,CN=<16hex>.<region>.aws.nitro-enclaves          CA pathLen 2, same KU   ~20 days
 *   zonal     CN=<16hex>.zonal.<region>.aws.nitro-enclaves,OU,O,C,ST,L  CA pathLen 1, same KU   ~6 days
 *   instance  C,ST,L,O,OU,CN=<instance id>.<region>.aws.nitro-enclaves CA pathLen 0, KU keyCertSign  1 day
 *   leaf      C,ST,L,O,OU,CN=<module id>.<region>.aws                  CA:FALSE, KU digitalSignature,
 *                                                                      nonRepudiation (not critical)  3 h
 *
 * Attribute order, string types (C PrintableString, the rest UTF8String), CN patterns, extensions
 * and lifetimes follow AWS. Deliberate difference: O, OU and the root CN name the simulator, so
 * no human reading a simulated chain can mistake it for Amazon's. Verifiers anchor on the root's
 * bytes, never on names, so the difference changes nothing they check.
 */

export const SIM_REGION_DEFAULT = 'us-east-1';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Validity of each level. AWS's: root 30 y; real_doc_16: regional 20 d 1 h, zonal 5 d 21 h, instance 1 d. */
export const LIFETIME_MS = {
  root: 30 * 365 * DAY_MS,
  regional: 20 * DAY_MS + HOUR_MS,
  zonal: 5 * DAY_MS + 21 * HOUR_MS,
  instance: DAY_MS,
  /** Every real leaf lives exactly 3:00:00 or 3:00:03 (docs/formats.md section 1.3). */
  leaf: 3 * HOUR_MS,
} as const;

/**
 * AWS leaves start 3 s before the second they are issued in (real_doc_16: notBefore 13:15:34,
 * serial and notAfter at 13:15:37), which gives the observed 3:00:03 windows.
 */
export const LEAF_BACKDATE_MS = 3_000;

/** CA certificates are backdated a little so a peer whose clock lags still accepts them. */
export const CA_BACKDATE_MS = 60_000;

/**
 * A leaf is re-issued when less than this remains of it, so a document stays verifiable "now"
 * for at least this long after it is made (KMS checks documents at the time of the call).
 * AWS's choice is not published; real documents were seen up to 2 h 18 min into a 3 h leaf.
 */
export const LEAF_MIN_REMAINING_MS = 30 * 60_000;

/** ASN.1 string choices as @peculiar/x509 JSON names: C is PrintableString, the rest UTF8String. */
type NameAttribute = Record<string, ({ utf8String: string } | { printableString: string })[]>;
export type SimName = NameAttribute[];

const country = (): NameAttribute => ({ C: [{ printableString: 'US' }] });
const utf8 = (type: string, value: string): NameAttribute => ({ [type]: [{ utf8String: value }] });

export const SIM_ORGANIZATION = 'enclavekit';
export const SIM_ORGANIZATIONAL_UNIT = 'Simulated Nitro Enclaves';
export const SIM_ROOT_COMMON_NAME = 'simulated.aws.nitro-enclaves';

export function rootName(): SimName {
  return [country(), utf8('O', SIM_ORGANIZATION), utf8('OU', SIM_ORGANIZATIONAL_UNIT), utf8('CN', SIM_ROOT_COMMON_NAME)];
}

export function regionalName(id: string, region: string): SimName {
  return [
    country(),
    utf8('O', SIM_ORGANIZATION),
    utf8('OU', SIM_ORGANIZATIONAL_UNIT),
    utf8('CN', `${id}.${region}.aws.nitro-enclaves`),
  ];
}

export function zonalName(id: string, region: string): SimName {
  return [
    utf8('CN', `${id}.zonal.${region}.aws.nitro-enclaves`),
    utf8('OU', SIM_ORGANIZATIONAL_UNIT),
    utf8('O', SIM_ORGANIZATION),
    country(),
    utf8('ST', 'WA'),
    utf8('L', 'Seattle'),
  ];
}

function hostName(commonName: string): SimName {
  return [
    country(),
    utf8('ST', 'Washington'),
    utf8('L', 'Seattle'),
    utf8('O', SIM_ORGANIZATION),
    utf8('OU', SIM_ORGANIZATIONAL_UNIT),
    utf8('CN', commonName),
  ];
}

export function instanceName(instanceId: string, region: string): SimName {
  return hostName(`${instanceId}.${region}.aws.nitro-enclaves`);
}

export function leafName(moduleId: string, region: string): SimName {
  return hostName(`${moduleId}.${region}.aws`);
}
