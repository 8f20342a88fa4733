# enclavekit build entry points. `make help` lists them.
.PHONY: help build test bundle dev

help:
	@echo "make build   - install dependencies (npm ci: native addon + bundles)"
	@echo "make test    - type-check and run the test suite (npm test)"
	@echo "make bundle  - esbuild bundles into dist/"
	@echo "make dev     - start the whole stack on the simulator (npm start)"

build:
	npm ci

test:
	npm test

bundle:
	node scripts/build.mjs

dev:
	npm start
