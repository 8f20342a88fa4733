#!/usr/bin/env node
// `make eif` helper: prints nitro-cli's measurements JSON (the file named by the first argument)
// with a "Build" record beside "Measurements": what else, besides the image, went into the PCRs.
//   PCR0 = the whole EIF image; PCR1 = the kernel, its command line and the boot ramfs (init and
//   nsm.ko) that nitro-cli takes from its blobs directory; PCR2 = the application (the image).
// So a PCR1 that differs between two builds of the same tree points at a different nitro-cli
// package; the record says which (docs/deploy.md, "What each PCR covers").
//
// Environment: NITRO_CLI_VERSION (`nitro-cli --version`), NITRO_BLOBS (the blobs directory),
// IMAGE_ID (the Docker image id). Second argument: the build platform (linux/amd64, linux/arm64).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [measurementsFile, platform] = process.argv.slice(2);
if (measurementsFile === undefined) {
  process.stderr.write('usage: pcrs-build-record.mjs MEASUREMENTS_JSON [PLATFORM]\n');
  process.exit(2);
}
const measurements = JSON.parse(readFileSync(measurementsFile, 'utf8'));
const blobsDir = process.env.NITRO_BLOBS ?? '/usr/share/nitro_enclaves/blobs';

// x86_64 ships bzImage (+ bzImage.config), aarch64 ships Image (+ Image.config).
const kernelFile = ['bzImage', 'Image'].find((name) => existsSync(path.join(blobsDir, name)));
let kernel = null;
if (kernelFile !== undefined && existsSync(path.join(blobsDir, `${kernelFile}.config`))) {
  // The kernel's own config header: "# Linux/x86 4.14.256 Kernel Configuration".
  const header = /^# Linux\/\S+ (\S+) Kernel Configuration$/m.exec(readFileSync(path.join(blobsDir, `${kernelFile}.config`), 'utf8'));
  kernel = header?.[1] ?? null;
}
const blobs = {};
for (const name of [kernelFile, 'cmdline', 'init', 'nsm.ko'].filter((n) => n !== undefined)) {
  const file = path.join(blobsDir, name);
  if (existsSync(file)) blobs[name] = createHash('sha384').update(readFileSync(file)).digest('hex');
}

const build = {
  nitroCli: process.env.NITRO_CLI_VERSION?.trim() || null,
  kernel,
  platform: platform ?? null,
  image: process.env.IMAGE_ID?.trim() || null,
  blobsDir,
  blobs,
};
process.stdout.write(`${JSON.stringify({ ...measurements, Build: build }, null, 2)}\n`);
