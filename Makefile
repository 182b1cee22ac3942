# Pedigree — two commands: `make run` serves the product on the embedded
# store (with the churn demo loaded), `make test` runs every test.

GO      ?= go
PYTHON  ?= python3
BIN     := bin/pedigree
DEMO    ?= 1
ARGS    ?=
WEB_SRC := $(shell find web/src web/*.html web/vite.config.js web/package.json -type f 2>/dev/null)

.PHONY: run build web cypherlint test test-go test-web test-python generate check-generated bench clean

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
	git diff --exit-code -- graph/ client/generated.go || (echo "graph/ or client/generated.go is out of date: run make generate and commit" >&2; exit 1)

# Neo4j's own Cypher linter, from npm: lineage/neo4j/cypher_lint_test.go checks
# every statement with it offline. make test requires it rather than skipping.
cypherlint: lineage/neo4j/cypherlint/node_modules/.installed
lineage/neo4j/cypherlint/node_modules/.installed: lineage/neo4j/cypherlint/package.json lineage/neo4j/cypherlint/package-lock.json
	cd lineage/neo4j/cypherlint && npm ci --no-audit --no-fund
	touch $@

test: web check-generated cypherlint
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$unformatted" || (echo "not gofmt'ed: $$unformatted" >&2; exit 1)
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	PEDIGREE_REQUIRE_CYPHERLINT=1 $(GO) test ./...
	$(MAKE) test-web
	$(MAKE) test-python

test-web: build
	cd web && npx vitest run
	web/e2e/with-server.sh $(BIN) node web/e2e/graphiql.smoke.mjs
	web/e2e/with-server.sh $(BIN) node web/e2e/app.e2e.mjs

# The Python client's tests start their own servers from the binary just built.
test-python: build
	cd clients/python && PEDIGREE_BIN=$(abspath $(BIN)) $(PYTHON) -m unittest discover -s tests

bench:
	$(GO) test -run '^$$' -bench . -short ./lineage/sqlite/ ./resolvers/ ./cmd/pedigree/

clean:
	rm -rf bin web/dist/assets web/dist/*.html web/dist/.built

# Pedigree on Neo4j in containers (Dockerfile, docker-compose.yml); needs
# Docker with the compose plugin. NEO4J_PASSWORD is read by compose too.
NEO4J_PASSWORD ?= pedigree-dev-password
COMPOSE        ?= docker compose

.PHONY: up down test-neo4j

up:
	NEO4J_PASSWORD='$(NEO4J_PASSWORD)' $(COMPOSE) up -d --build --wait

down:
	$(COMPOSE) down

# The Neo4j conformance suite against the compose Neo4j. It WIPES that
# database, including whatever `make up` stored in it.
test-neo4j:
	NEO4J_PASSWORD='$(NEO4J_PASSWORD)' $(COMPOSE) up -d --wait neo4j
	PEDIGREE_TEST_NEO4J_URI=neo4j://localhost:7687 PEDIGREE_TEST_NEO4J_PASSWORD='$(NEO4J_PASSWORD)' \
		$(GO) test ./lineage/neo4j/ ./cmd/pedigree/ -run 'Conformance|Neo4j' -count=1
