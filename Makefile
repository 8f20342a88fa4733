# enclavekit build and deployment entry points. `make help` lists them; docs/deploy.md walks through
# them on a Nitro Enclaves-enabled EC2 instance. Targets that need docker, nitro-cli or jq check for
# them first and say what to install; every target also works with `make -n`.
.PHONY: help build test bundle image eif run console describe policy dev install

# ---- variables (override on the command line: make run MEMORY_MIB=4096) ----
IMAGE ?= enclavekit-enclave:latest
# Base images: empty = the digest-pinned defaults in Dockerfile.enclave. An override must be pinned
# too (name:tag@sha256:<64 hex>); `make image` refuses anything else (Dockerfile.enclave explains
# how to look digests up).
BUILD_IMAGE ?=
RUNTIME_IMAGE ?=
# The BuildKit that builds the image, by digest: BuildKit's version decides how layers are written,
# so it is part of what makes PCR0 reproducible. It runs in a buildx builder of the docker-container
# driver (Docker's built-in builder ignores rewrite-timestamp with --output type=docker).
BUILDKIT_IMAGE ?= moby/buildkit:v0.29.0@sha256:0039c1d47e8748b5afea56f4e85f14febaf34452bd99d9552d2daa82262b5cc5
BUILDER ?= enclavekit-repro
# The enclave's architecture: linux/amd64 (Intel/AMD instances) or linux/arm64 (Graviton). PCRs
# differ between the two; each has its own key-policy statement.
PLATFORM ?= linux/amd64
# Fixed, not the commit time: PCR0 then changes only when the image content does (Dockerfile.enclave).
SOURCE_DATE_EPOCH ?= 0
EIF ?= build/enclave.eif
PCRS ?= build/pcrs.json
ENCLAVE_NAME ?= enclavekit
CPU_COUNT ?= 2
MEMORY_MIB ?= 2048
ENCLAVE_CID ?= 16
# DEBUG=1: --debug-mode (console readable, PCR0-2 all zeros: the key policy denies such an enclave).
DEBUG ?= 0
# make policy: space-separated lists where several are allowed.
ACCOUNT ?=
ENCLAVE_ROLE ?=
ADMIN ?=
PRODUCER ?=
WRAPPED_KEY_GENERATOR ?=
ENCRYPTION_CONTEXT ?=
PCR ?=
POLICY ?= build/key-policy.json
INTERNAL_POLICY ?= build/internal-key-policy.json
POLICY_FLAGS ?=
# make eif: where nitro-cli keeps the enclave kernel, init and nsm.ko that PCR1 measures.
NITRO_BLOBS ?= /usr/share/nitro_enclaves/blobs
# make install: root-owned locations a compromised user account cannot edit (docs/deploy.md).
DESTDIR ?=
LIBDIR ?= /usr/local/lib/enclavekit
SYSTEMD_DIR ?= /etc/systemd/system
SYSCONF_DIR ?= /etc/enclavekit
LOGROTATE_DIR ?= /etc/logrotate.d
# The Node binary installed for the parent: must be the production major (Dockerfile.enclave).
NODE ?= $(shell command -v node)
NODE_MAJOR ?= 24

ENCLAVEKIT = node bin/enclavekit.js

# $(call need,TOOL,WHAT TO DO): stop with a clear message when TOOL is not on PATH.
define need
	@command -v $(1) >/dev/null 2>&1 || { echo "make $@: '$(1)' not found. $(2)" >&2; exit 127; }
endef
NEED_DOCKER = Install and start Docker (docs/deploy.md step 2: sudo dnf install -y docker && sudo systemctl enable --now docker).
NEED_NITRO = nitro-cli exists only on a Nitro Enclaves-enabled EC2 instance (docs/deploy.md step 2: sudo dnf install -y aws-nitro-enclaves-cli aws-nitro-enclaves-cli-devel).
NEED_JQ = Install jq (sudo dnf install -y jq).

help:
	@echo "make build     - install dependencies (npm ci: native addon + bundles)"
	@echo "make test      - type-check and run the test suite (npm test)"
	@echo "make bundle    - esbuild bundles into dist/ and the SHA-384 of dist/enclave.js"
	@echo "make dev       - start the whole stack on the simulator (npm start)"
	@echo "make image     - build the enclave image $(IMAGE) from Dockerfile.enclave: buildx builder $(BUILDER), PLATFORM=$(PLATFORM) (needs docker, buildx)"
	@echo "make eif       - build $(EIF) with nitro-cli; save its measurements, nitro-cli and kernel versions as $(PCRS) (needs nitro-cli, docker)"
	@echo "make run       - start the enclave: CPU_COUNT=$(CPU_COUNT) MEMORY_MIB=$(MEMORY_MIB) ENCLAVE_CID=$(ENCLAVE_CID) DEBUG=$(DEBUG) (needs nitro-cli)"
	@echo "make console   - attach to the console of enclave $(ENCLAVE_NAME) (debug mode only; needs nitro-cli, jq)"
	@echo "make describe  - nitro-cli describe-enclaves, and describe-eif of $(EIF) when it exists (needs nitro-cli)"
	@echo "make policy    - KMS key policy bound to $(PCRS): ACCOUNT=... ENCLAVE_ROLE=arn ADMIN='arn ...'"
	@echo "                 [PRODUCER='arn ...'] [WRAPPED_KEY_GENERATOR='arn ...'] [ENCRYPTION_CONTEXT='k=v ...'] [PCR='3=arn ...'] -> $(POLICY) (card key), $(INTERNAL_POLICY) (internal key)"
	@echo "make install   - root-owned install: $(LIBDIR), units in $(SYSTEMD_DIR), $(SYSCONF_DIR), logrotate (sudo; DESTDIR=... to stage)"

build:
	npm ci

test:
	npm test

bundle:
	node scripts/build.mjs
	@node -e "const f='dist/enclave.js';const fs=require('node:fs');if(fs.existsSync(f))console.log('sha384 '+require('node:crypto').createHash('sha384').update(fs.readFileSync(f)).digest('hex')+'  '+f)"

dev:
	npm start

# Reproducible only with buildx and a pinned docker-container builder: BuildKit's
# rewrite-timestamp=true clamps every file time in the image to SOURCE_DATE_EPOCH, which Docker's
# built-in builder does not honour with --output type=docker, and plain `docker build` (refused by
# Docker 23+ without buildx anyway) keeps the times of the directories COPY creates. No fallback:
# an image that cannot be reproduced is not worth building (docs/deploy.md, "Reproducible PCRs").
DIGEST_PINNED = ^[^@ ]+@sha256:[0-9a-f]{64}$$
image:
	$(call need,docker,$(NEED_DOCKER))
	@for ref in $(BUILD_IMAGE) $(RUNTIME_IMAGE) $(BUILDKIT_IMAGE); do \
	  echo "$$ref" | grep -Eq '$(DIGEST_PINNED)' || { echo "make $@: $$ref is not pinned by digest (name:tag@sha256:<64 hex>; Dockerfile.enclave says how to look it up)" >&2; exit 2; }; done
	@docker info >/dev/null 2>&1 || { echo "make $@: the Docker daemon is not reachable (sudo systemctl start docker; add yourself to the docker group)" >&2; exit 1; }
	@docker buildx version >/dev/null 2>&1 || { echo "make $@: docker buildx not found: install the buildx plugin (docs/deploy.md step 2); plain docker build cannot make a reproducible image" >&2; exit 1; }
	@if docker buildx inspect $(BUILDER) >/dev/null 2>&1; then \
	  info=$$(docker buildx inspect $(BUILDER)); \
	  echo "$$info" | grep -Eq '^Driver: +docker-container$$' && echo "$$info" | grep -Fq 'image="$(BUILDKIT_IMAGE)"' || { \
	    echo "make $@: builder $(BUILDER) exists but is not a docker-container builder on $(BUILDKIT_IMAGE); remove it (docker buildx rm $(BUILDER)) and run make image again" >&2; exit 1; }; \
	else \
	  echo "docker buildx create --name $(BUILDER) --driver docker-container --driver-opt image=$(BUILDKIT_IMAGE)"; \
	  docker buildx create --name $(BUILDER) --driver docker-container --driver-opt image=$(BUILDKIT_IMAGE) >/dev/null; \
	fi
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) docker buildx build --builder $(BUILDER) --platform $(PLATFORM) \
	  -f Dockerfile.enclave --build-arg SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
	  $(if $(BUILD_IMAGE),--build-arg BUILD_IMAGE=$(BUILD_IMAGE)) $(if $(RUNTIME_IMAGE),--build-arg RUNTIME_IMAGE=$(RUNTIME_IMAGE)) \
	  --output type=docker,name=$(IMAGE),rewrite-timestamp=true .

# nitro-cli prints progress on stderr and the measurements JSON on stdout; enclavekit policy reads
# that JSON ({"Measurements": {"HashAlgorithm", "PCR0", "PCR1", "PCR2"}}) and ignores the "Build"
# record added beside it: the nitro-cli version and the kernel, init and nsm.ko it used, which PCR1
# measures (docs/deploy.md, "What each PCR covers"). Two builds whose PCR1 differ differ there.
eif:
	$(call need,nitro-cli,$(NEED_NITRO))
	$(call need,docker,$(NEED_DOCKER))
	@docker image inspect $(IMAGE) >/dev/null 2>&1 || { echo "make $@: image $(IMAGE) not found: run make image first" >&2; exit 1; }
	@mkdir -p $(dir $(EIF)) $(dir $(PCRS))
	nitro-cli build-enclave --docker-uri $(IMAGE) --output-file $(EIF) > $(PCRS).tmp
	@NITRO_CLI_VERSION="$$(nitro-cli --version 2>/dev/null)" NITRO_BLOBS=$(NITRO_BLOBS) IMAGE_ID="$$(docker image inspect --format '{{.Id}}' $(IMAGE))" \
	  node deploy/bin/pcrs-build-record.mjs $(PCRS).tmp $(PLATFORM) > $(PCRS).new && rm -f $(PCRS).tmp && mv $(PCRS).new $(PCRS)
	@cat $(PCRS)
	@echo "make $@: measurements saved to $(PCRS)"

run:
	$(call need,nitro-cli,$(NEED_NITRO))
	@test -r $(EIF) || { echo "make $@: $(EIF) not found: run make image eif first" >&2; exit 1; }
	@size=$$(wc -c < $(EIF)); if [ $$((size * 4)) -gt $$(( $(MEMORY_MIB) * 1048576 )) ]; then \
	  echo "make $@: MEMORY_MIB=$(MEMORY_MIB) is less than 4x the EIF size ($$((size / 1048576)) MiB); nitro-cli would refuse it" >&2; exit 1; fi
	nitro-cli run-enclave --eif-path $(EIF) --cpu-count $(CPU_COUNT) --memory $(MEMORY_MIB) \
	  --enclave-cid $(ENCLAVE_CID) --enclave-name $(ENCLAVE_NAME)$(if $(filter 1,$(DEBUG)), --debug-mode)

console:
	$(call need,nitro-cli,$(NEED_NITRO))
	$(call need,jq,$(NEED_JQ))
	@id=$$(nitro-cli describe-enclaves | jq -r --arg n $(ENCLAVE_NAME) '[.[] | select(.EnclaveName == $$n)] | first | .EnclaveID // empty'); \
	  test -n "$$id" || { echo "make $@: no running enclave named $(ENCLAVE_NAME) (make describe)" >&2; exit 1; }; \
	  echo "nitro-cli console --enclave-id $$id   (works only for an enclave started with DEBUG=1)"; \
	  nitro-cli console --enclave-id $$id

describe:
	$(call need,nitro-cli,$(NEED_NITRO))
	nitro-cli describe-enclaves
	@if [ -r $(EIF) ]; then echo "nitro-cli describe-eif --eif-path $(EIF)"; nitro-cli describe-eif --eif-path $(EIF); fi

policy:
	@test -r $(PCRS) || { echo "make $@: $(PCRS) not found: run make eif first (it needs nitro-cli), or set PCRS=FILE" >&2; exit 1; }
	@test -n "$(ACCOUNT)" -a -n "$(ENCLAVE_ROLE)" -a -n "$(ADMIN)" || { echo "make $@: set ACCOUNT=<12-digit id> ENCLAVE_ROLE=<role ARN> ADMIN='<ARN> ...'" >&2; exit 2; }
	@mkdir -p $(dir $(POLICY))
	$(ENCLAVEKIT) policy generate --key card --pcrs $(PCRS) --account $(ACCOUNT) --enclave-role $(ENCLAVE_ROLE) \
	  $(foreach a,$(ADMIN),--admin $(a)) $(foreach a,$(PRODUCER),--producer $(a)) \
	  $(foreach c,$(ENCRYPTION_CONTEXT),--encryption-context $(c)) $(foreach p,$(PCR),--pcr $(p)) \
	  $(POLICY_FLAGS) --out $(POLICY)
	$(ENCLAVEKIT) policy generate --key internal --pcrs $(PCRS) --account $(ACCOUNT) --enclave-role $(ENCLAVE_ROLE) \
	  $(foreach a,$(ADMIN),--admin $(a)) $(foreach a,$(WRAPPED_KEY_GENERATOR),--wrapped-key-generator $(a)) \
	  $(foreach p,$(PCR),--pcr $(p)) $(POLICY_FLAGS) --out $(INTERNAL_POLICY)

# Root-run code and units in root-owned places: the enclave unit runs its script as root, so neither
# the script nor what it starts may sit in a checkout a user account can write to. Config files are
# installed once and never overwritten. Logs: the units log to journald (rotated by journald itself);
# the parent's logFile is rotated by logrotate (deploy/logrotate/enclavekit).
INSTALL_ROOT = install -o root -g root
install:
	@test -r $(EIF) || { echo "make $@: $(EIF) not found: run make image eif first (or set EIF=FILE)" >&2; exit 1; }
	@test -s dist/cli.js -a -s build/Release/enclavekit.node || { echo "make $@: dist/cli.js or the native addon is missing: run make build first" >&2; exit 1; }
	@test -n "$(NODE)" && v=$$($(NODE) -p 'process.versions.node.split(".")[0]') && [ "$$v" = "$(NODE_MAJOR)" ] || { \
	  echo "make $@: NODE=$(NODE) is not Node $(NODE_MAJOR), the production release (docs/deploy.md step 2); set NODE=/path/to/node" >&2; exit 1; }
	$(INSTALL_ROOT) -m 0755 -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/bin $(DESTDIR)$(LIBDIR)/eif $(DESTDIR)$(SYSTEMD_DIR) $(DESTDIR)$(SYSCONF_DIR) $(DESTDIR)$(LOGROTATE_DIR)
	$(INSTALL_ROOT) -m 0755 $(NODE) $(DESTDIR)$(LIBDIR)/bin/node
	$(INSTALL_ROOT) -m 0755 deploy/bin/enclavekit-enclave $(DESTDIR)$(LIBDIR)/bin/enclavekit-enclave
	$(INSTALL_ROOT) -m 0444 $(EIF) $(DESTDIR)$(LIBDIR)/eif/enclave.eif
	@if [ -r $(PCRS) ]; then echo "$(INSTALL_ROOT) -m 0444 $(PCRS) $(DESTDIR)$(LIBDIR)/eif/pcrs.json"; $(INSTALL_ROOT) -m 0444 $(PCRS) $(DESTDIR)$(LIBDIR)/eif/pcrs.json; fi
	rm -rf $(DESTDIR)$(LIBDIR)/app.new
	$(INSTALL_ROOT) -m 0755 -d $(DESTDIR)$(LIBDIR)/app.new $(DESTDIR)$(LIBDIR)/app.new/build/Release
	cp -R package.json bin dist node_modules $(DESTDIR)$(LIBDIR)/app.new/
	$(INSTALL_ROOT) -m 0555 build/Release/enclavekit.node $(DESTDIR)$(LIBDIR)/app.new/build/Release/enclavekit.node
	chown -R root:root $(DESTDIR)$(LIBDIR)/app.new
	chmod -R u+w,go-w,a+rX $(DESTDIR)$(LIBDIR)/app.new
	rm -rf $(DESTDIR)$(LIBDIR)/app.old
	@if [ -d $(DESTDIR)$(LIBDIR)/app ]; then mv $(DESTDIR)$(LIBDIR)/app $(DESTDIR)$(LIBDIR)/app.old; fi
	mv $(DESTDIR)$(LIBDIR)/app.new $(DESTDIR)$(LIBDIR)/app
	rm -rf $(DESTDIR)$(LIBDIR)/app.old
	$(INSTALL_ROOT) -m 0644 deploy/systemd/enclavekit-parent.service deploy/systemd/enclavekit-enclave@.service $(DESTDIR)$(SYSTEMD_DIR)/
	$(INSTALL_ROOT) -m 0644 deploy/logrotate/enclavekit $(DESTDIR)$(LOGROTATE_DIR)/enclavekit
	@if [ ! -e $(DESTDIR)$(SYSCONF_DIR)/enclave-1.env ]; then echo "$(INSTALL_ROOT) -m 0644 deploy/systemd/enclave.env $(DESTDIR)$(SYSCONF_DIR)/enclave-1.env"; \
	  $(INSTALL_ROOT) -m 0644 deploy/systemd/enclave.env $(DESTDIR)$(SYSCONF_DIR)/enclave-1.env; fi
	@echo "make $@: installed; next: sudo systemctl daemon-reload && sudo systemctl enable --now enclavekit-enclave@1 enclavekit-parent (docs/deploy.md)"
