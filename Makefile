# Pedigree — two commands: `make run` serves the product on the embedded
# store (with the churn demo loaded), `make test` runs every test.

GO      ?= go
BIN     := bin/pedigree
DEMO    ?= 1
ARGS    ?=
WEB_SRC := $(shell find web/src web/*.html web/vite.config.js web/package.json -type f 2>/dev/null)

.PHONY: run build web test test-go test-web generate check-generated bench clean

run: build
	$(BIN) serve $(if $(filter 1,$(DEMO)),--demo) $(ARGS)

build: web
	$(GO) build -o $(BIN) ./cmd/pedigree

# The UI bundle is embedded in the binary; rebuilt only when its sources change.
web: web/dist/.built
web/dist/.built: $(WEB_SRC) web/package-lock.json
	cd web && npm ci --no-audit --no-fund && npm run build
	touch $@

generate:
	$(GO) generate ./...

# graph/ is generated: regenerating must not change it.
check-generated: generate
	git diff --exit-code -- graph/ || (echo "graph/ is out of date: run make generate and commit" >&2; exit 1)

test: web check-generated
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) test ./...
	$(MAKE) test-web

test-web: build
	web/e2e/with-server.sh $(BIN) node web/e2e/graphiql.smoke.mjs

bench:
	$(GO) test -run '^$$' -bench . -short ./lineage/sqlite/ ./resolvers/ ./cmd/pedigree/

clean:
	rm -rf bin web/dist/assets web/dist/*.html web/dist/.built
