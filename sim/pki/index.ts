/**
 * The simulated Nitro PKI at run time: root → regional → zonal → instance → leaf (./profile.ts).
 *
 * The root never changes once made (verifiers pin it). Intermediates are re-issued whenever
 * they would not cover a fresh leaf's whole 3-hour life, so a state directory keeps working for
 * as long as its root does, and a pinned test clock far from the creation time works too.
 * Every operation takes the time explicitly; nothing here reads the clock.
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import { ServiceError } from '../../shared/errors.js';
import {
  createRootCa,
  issueIntermediateCa,
  issueLeafCertificate,
  loadCa,
  type IssuedCa,
  type SimCa,
  type SimLeaf,
} from './issue.js';
import { LIFETIME_MS, SIM_REGION_DEFAULT } from './profile.js';
import { certificatePem, readIntermediate, readRoot, writeIntermediate, writeRoot, type StoredLevel } from './store.js';

export type { SimCa, SimLeaf } from './issue.js';
export { LIFETIME_MS, LEAF_MIN_REMAINING_MS, SIM_REGION_DEFAULT } from './profile.js';

/** A leaf together with the bundle that goes beside it in documents: [root, regional, zonal, instance]. */
export interface IssuedLeaf {
  readonly leaf: SimLeaf;
  readonly cabundle: readonly Uint8Array[];
}

/** Instance ids as in module ids: `i-` and 8 or 17 hex digits. */
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
/** `i-<17 hex>-enc<16 hex>` (docs/formats.md section 1.3); 8-hex instance ids are accepted too. */
export const MODULE_ID_PATTERN = /^(i-(?:[0-9a-f]{8}|[0-9a-f]{17}))-enc[0-9a-f]{16}$/;

/** The parent instance id inside a module id, or a RangeError when it is not one. */
export function instanceIdOf(moduleId: string): string {
  const match = MODULE_ID_PATTERN.exec(moduleId);
  if (match?.[1] === undefined) throw new RangeError('module id must look like i-<17 hex>-enc<16 hex>');
  return match[1];
}

/** A CA is usable when it covers a whole new leaf, issued at `now`, plus a minute of slack. */
function covers(ca: SimCa, now: number): boolean {
  return ca.notBefore <= now && ca.notAfter >= now + LIFETIME_MS.leaf + 60_000;
}

function hexId(): string {
  return randomBytes(8).toString('hex');
}

export interface SimPkiOptions {
  region?: string;
}

export class SimPki {
  readonly region: string;
  readonly root: SimCa;
  /** PEM of the root certificate: what a verifier must be given explicitly to trust the sim. */
  readonly rootPem: string;
  private regional: SimCa | undefined;
  private zonal: SimCa | undefined;
  private readonly instances = new Map<string, SimCa>();
  private readonly stateDir: string | undefined;
  /** Serialises re-issuing, so concurrent callers never issue two chains at once. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(root: SimCa, region: string, stateDir: string | undefined, regional?: SimCa, zonal?: SimCa) {
    this.root = root;
    this.rootPem = certificatePem(root);
    this.region = region;
    this.stateDir = stateDir;
    this.regional = regional;
    this.zonal = zonal;
  }

  /** A fresh PKI in memory only (tests, throwaway simulators). */
  static async createInMemory(now: number, options: SimPkiOptions = {}): Promise<SimPki> {
    const root = await createRootCa(now);
    return new SimPki(root.ca, options.region ?? SIM_REGION_DEFAULT, undefined);
  }

  /**
   * Creates the PKI files in `dir` unless a root is already there (kept as is: a restart must not
   * change what verifiers trust). Returns whether a new root was made.
   */
  static async initialize(dir: string, now: number): Promise<{ created: boolean }> {
    const existing = await readRoot(dir);
    if (existing !== undefined) {
      await SimPki.load(dir, now); // validates the pair and repairs missing intermediates
      return { created: false };
    }
    const root = await createRootCa(now);
    await writeRoot(dir, root.ca, root.privateKeyPem);
    const pki = new SimPki(root.ca, SIM_REGION_DEFAULT, dir);
    await pki.ensureIntermediates(now);
    return { created: true };
  }

  /** Loads the PKI from a state directory made by `enclavekit sim init`. */
  static async load(dir: string, now: number, options: SimPkiOptions = {}): Promise<SimPki> {
    const stored = await readRoot(dir);
    if (stored === undefined) {
      throw new ServiceError('ERR_SIM_STATE', `no simulated root in ${dir}: run \`enclavekit sim init --state ${dir}\` first`);
    }
    let root: SimCa;
    try {
      root = await loadCa('root', stored.certPem, stored.keyPem);
    } catch (cause) {
      throw new ServiceError('ERR_SIM_STATE', `the simulated root in ${dir} cannot be read`, { cause });
    }
    const keySpki = createPublicKey(stored.keyPem).export({ type: 'spki', format: 'der' });
    if (!keySpki.equals(Buffer.from(root.cert.publicKey.rawData))) {
      throw new ServiceError('ERR_SIM_STATE', `the simulated root key in ${dir} does not match root.pem`);
    }
    const regional = await SimPki.loadIntermediate(dir, 'regional', root);
    const zonal = regional === undefined ? undefined : await SimPki.loadIntermediate(dir, 'zonal', regional);
    const pki = new SimPki(root, options.region ?? SIM_REGION_DEFAULT, dir, regional, zonal);
    await pki.ensureIntermediates(now);
    return pki;
  }

  /** A stored intermediate, or undefined when absent, unreadable or not issued by `issuer`. */
  private static async loadIntermediate(dir: string, level: StoredLevel, issuer: SimCa): Promise<SimCa | undefined> {
    const stored = await readIntermediate(dir, level);
    if (stored === undefined) return undefined;
    try {
      const ca = await loadCa(level, stored.certPem, stored.keyPem);
      const linked = await ca.cert.verify({ publicKey: issuer.cert.publicKey, signatureOnly: true });
      return linked ? ca : undefined;
    } catch {
      return undefined; // re-issued below: intermediates carry no state anyone pins
    }
  }

  get rootDer(): Uint8Array {
    return this.root.der;
  }

  /**
   * Issues a 3-hour leaf for the enclave `moduleId` at `now`, re-issuing any CA that would not
   * cover it. The instance CA is per parent instance id, as on AWS.
   */
  issueLeaf(moduleId: string, now: number): Promise<IssuedLeaf> {
    const instanceId = instanceIdOf(moduleId);
    return this.serialized(async () => {
      await this.ensureIntermediates(now);
      const zonal = this.zonal as SimCa;
      let instance = this.instances.get(instanceId);
      if (instance === undefined || !covers(instance, now)) {
        instance = (await issueIntermediateCa('instance', zonal, instanceId, this.region, now)).ca;
        this.instances.set(instanceId, instance);
      }
      const leaf = await issueLeafCertificate(instance, moduleId, this.region, now);
      const regional = this.regional as SimCa;
      return { leaf, cabundle: [this.root.der, regional.der, zonal.der, instance.der] };
    });
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async ensureIntermediates(now: number): Promise<void> {
    if (!covers(this.root, now)) {
      throw new ServiceError(
        'ERR_SIM_STATE',
        `the simulated root is not valid at ${new Date(now).toISOString()} (valid ${new Date(this.root.notBefore).toISOString()} to ${new Date(this.root.notAfter).toISOString()})`,
      );
    }
    if (this.regional === undefined || !covers(this.regional, now)) {
      const regional = await issueIntermediateCa('regional', this.root, hexId(), this.region, now);
      this.regional = regional.ca;
      this.zonal = undefined;
      await this.persist('regional', regional);
    }
    if (this.zonal === undefined || !covers(this.zonal, now)) {
      const zonal = await issueIntermediateCa('zonal', this.regional, hexId(), this.region, now);
      this.zonal = zonal.ca;
      this.instances.clear();
      await this.persist('zonal', zonal);
    }
  }

  /**
   * Best effort: a state directory that cannot be written still gives a working chain in memory,
   * and the root (the only thing peers trust) is unchanged either way.
   */
  private async persist(level: StoredLevel, issued: IssuedCa): Promise<void> {
    if (this.stateDir === undefined) return;
    try {
      await writeIntermediate(this.stateDir, level, issued.ca, issued.privateKeyPem);
    } catch {
      // ignored on purpose (see above)
    }
  }
}
