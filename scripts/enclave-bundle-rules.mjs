// What the production enclave bundle (dist/enclave.js) must never contain, checked on esbuild's
// metafile by scripts/build.mjs (the build fails) and by test/deploy/enclave-bundle.test.ts.
//
// The enclave image is the trusted base the PCRs measure: code that is in it but never runs there
// still has to be reviewed and still changes PCR0 on every upgrade. Each entry names a module
// family and why it does not belong:
// - sim/: the software NSM and KMS simulator (a simulated attestation is worthless in production);
// - cli/: the operator CLI (policy generation, dev supervisor) runs on hosts, never in the enclave;
// - @aws-sdk/client-dynamodb, @aws-sdk/util-dynamodb, @aws-crypto/branch-keystore-node: the ESDK's
//   hierarchical keyring, which @aws-crypto/client-node pulls in; the enclave uses the KMS keyring;
// - @aws-crypto/client-node, encrypt-node, raw keyrings: the producer side of the ESDK;
// - the AWS SDK's default credential chain (scripts/build.mjs replaces it): the parent hands the
//   enclave its credentials.
export const FORBIDDEN_ENCLAVE_INPUTS = [
  { pattern: /^sim\//, why: 'simulator' },
  { pattern: /^cli\//, why: 'CLI' },
  { pattern: /(^|\/)node_modules\/@aws-sdk\/(client|util)-dynamodb\//, why: 'DynamoDB client' },
  { pattern: /(^|\/)node_modules\/@aws-crypto\/branch-keystore-node\//, why: 'branch keystore' },
  { pattern: /(^|\/)node_modules\/@aws-crypto\/(client-node|encrypt-node|raw-aes-keyring-node|raw-rsa-keyring-node|raw-keyring)\//, why: 'ESDK producer side' },
  { pattern: /(^|\/)node_modules\/@aws-sdk\/(credential-provider-[a-z-]+|nested-clients|token-providers)\//, why: 'default credential chain' },
];

/**
 * The inputs that put bytes into the output and match a forbidden family, as "input (why)".
 * metafile.inputs also lists modules esbuild parsed and then dropped as unused (tree shaking), so
 * only the outputs' inputs count: they are what the bundle actually contains.
 */
export function forbiddenInputs(metafile) {
  const found = [];
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const rule = FORBIDDEN_ENCLAVE_INPUTS.find((r) => r.pattern.test(input));
      if (rule !== undefined && bytesInOutput > 0) found.push(`${input} (${rule.why})`);
    }
  }
  return found;
}

/** Output bytes per package (or per top-level source directory), largest first. */
export function largestInputs(metafile, count) {
  const bytes = new Map();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1] ?? input.split('/')[0];
      bytes.set(pkg, (bytes.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  return [...bytes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, count);
}
