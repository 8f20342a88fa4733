# enclavekit build and deployment entry points. `make help` lists them; docs/deploy.md walks through
# them on a Nitro Enclaves-enabled EC2 instance. Targets that need docker, nitro-cli or jq check for
# them first and say what to install; every target also works with `make -n`.
.PHONY: help build test bundle image eif run console describe policy dev

# ---- variables (override on the command line: make run MEMORY_MIB=4096) ----
IMAGE ?= enclavekit-enclave:latest
# Base images: empty = the pinned defaults in Dockerfile.enclave. For production pin digests, e.g.
# RUNTIME_IMAGE=node:20.20.2-bookworm-slim@sha256:... (Dockerfile.enclave explains how to look them up).
BUILD_IMAGE ?=
RUNTIME_IMAGE ?=
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
	@echo "make image     - build the enclave image $(IMAGE) from Dockerfile.enclave (needs docker)"
	@echo "make eif       - build $(EIF) with nitro-cli and save its measurements as $(PCRS) (needs nitro-cli, docker)"
	@echo "make run       - start the enclave: CPU_COUNT=$(CPU_COUNT) MEMORY_MIB=$(MEMORY_MIB) ENCLAVE_CID=$(ENCLAVE_CID) DEBUG=$(DEBUG) (needs nitro-cli)"
	@echo "make console   - attach to the console of enclave $(ENCLAVE_NAME) (debug mode only; needs nitro-cli, jq)"
	@echo "make describe  - nitro-cli describe-enclaves, and describe-eif of $(EIF) when it exists (needs nitro-cli)"
	@echo "make policy    - KMS key policy bound to $(PCRS): ACCOUNT=... ENCLAVE_ROLE=arn ADMIN='arn ...'"
	@echo "                 [PRODUCER='arn ...'] [WRAPPED_KEY_GENERATOR='arn ...'] [ENCRYPTION_CONTEXT='k=v ...'] [PCR='3=arn ...'] -> $(POLICY) (card key), $(INTERNAL_POLICY) (internal key)"

build:
	npm ci

test:
	npm test

bundle:
	node scripts/build.mjs
	@node -e "const f='dist/enclave.js';const fs=require('node:fs');if(fs.existsSync(f))console.log('sha384 '+require('node:crypto').createHash('sha384').update(fs.readFileSync(f)).digest('hex')+'  '+f)"

dev:
	npm start

# BuildKit with rewrite-timestamp=true (buildx >= 0.13) clamps every file time in the image to
# SOURCE_DATE_EPOCH; plain `docker build` keeps the times of the directories COPY creates, which
# can make PCR0 differ between hosts (Dockerfile.enclave).
image:
	$(call need,docker,$(NEED_DOCKER))
	@docker info >/dev/null 2>&1 || { echo "make $@: the Docker daemon is not reachable (sudo systemctl start docker; add yourself to the docker group)" >&2; exit 1; }
	@if docker buildx version >/dev/null 2>&1; then \
	  echo "docker buildx build -f Dockerfile.enclave ... --output type=docker,name=$(IMAGE),rewrite-timestamp=true ."; \
	  SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) docker buildx build -f Dockerfile.enclave \
	    --build-arg SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
	    $(if $(BUILD_IMAGE),--build-arg BUILD_IMAGE=$(BUILD_IMAGE)) $(if $(RUNTIME_IMAGE),--build-arg RUNTIME_IMAGE=$(RUNTIME_IMAGE)) \
	    --output type=docker,name=$(IMAGE),rewrite-timestamp=true . ; \
	else \
	  echo "make $@: warning: docker buildx not found; plain docker build does not clamp directory times, so PCRs may differ between build hosts (docs/deploy.md)" >&2; \
	  SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) DOCKER_BUILDKIT=1 docker build -f Dockerfile.enclave \
	    --build-arg SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
	    $(if $(BUILD_IMAGE),--build-arg BUILD_IMAGE=$(BUILD_IMAGE)) $(if $(RUNTIME_IMAGE),--build-arg RUNTIME_IMAGE=$(RUNTIME_IMAGE)) \
	    -t $(IMAGE) . ; \
	fi

# nitro-cli prints progress on stderr and the measurements JSON on stdout; enclavekit policy reads
# that JSON as it is ({"Measurements": {"HashAlgorithm", "PCR0", "PCR1", "PCR2"}}).
eif:
	$(call need,nitro-cli,$(NEED_NITRO))
	$(call need,docker,$(NEED_DOCKER))
	@docker image inspect $(IMAGE) >/dev/null 2>&1 || { echo "make $@: image $(IMAGE) not found: run make image first" >&2; exit 1; }
	@mkdir -p $(dir $(EIF)) $(dir $(PCRS))
	nitro-cli build-enclave --docker-uri $(IMAGE) --output-file $(EIF) > $(PCRS).tmp
	@mv $(PCRS).tmp $(PCRS)
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
