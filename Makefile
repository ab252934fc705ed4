# kpilot — make help lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO      ?= go
MODULE  := github.com/kpilot/kpilot
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS := -s -w -X $(MODULE)/internal/buildinfo.Version=$(VERSION) -X $(MODULE)/internal/buildinfo.Commit=$(COMMIT)
# gosnmp_nodebug compiles gosnmp's per-packet debug logging out (kpilot never
# installs a gosnmp logger): about 10% of the SNMP collector's CPU. Releases
# (packaging/dist) and the tests build with it too.
TAGS    := gosnmp_nodebug

# Test and demo dependencies. influxd is built from source through the Go
# module proxy (about two minutes, once; go install caches it in GOPATH/bin).
INFLUXD_VERSION := v1.8.10
INFLUXD         := $(shell $(GO) env GOPATH)/bin/influxd
# podman and runc run the server image (packaging/dist), wine64 the Windows
# agent (packaging/windows); ca-certificates and tzdata go into the image.
# The demo needs only snmpd (and influxd).
DEMO_PACKAGES   := snmpd snmp
APT_PACKAGES    := $(DEMO_PACKAGES) snmpsim postgresql chromium poppler-utils podman runc wine64 ca-certificates tzdata
SUDO            := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_FLAGS      ?=

.PHONY: help build dist test screenshots test-short lint fmt vet tidy check demo deps demo-deps influxd clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build kpilot-agent and kpilot-server into bin/
	$(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o bin/ ./cmd/kpilot-agent ./cmd/kpilot-server

# Release artifacts: .deb and .rpm of agent and server (linux/amd64,
# linux/arm64), the Windows agent zip, SHA256SUMS. packaging/ is a module of
# its own, so that nfpm and the linters stay out of the programs' go.mod.
dist: ## Build the release packages into dist/ (.deb, .rpm, Windows zip, SHA256SUMS)
	$(GO) -C packaging run ./cmd/kpilot-dist -root $(CURDIR) -out $(CURDIR)/dist -version $(VERSION) -commit $(COMMIT)

deps: ## Install what the tests and the demo need (Debian snmpd, snmp, snmpsim, postgresql, chromium, poppler-utils, podman, runc, wine64; influxd)
	@if ! { [ -x /usr/sbin/snmpd ] && command -v snmpget >/dev/null && command -v snmpsimd >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && [ -x /usr/bin/chromium ] && command -v pdftotext >/dev/null && command -v podman >/dev/null && command -v runc >/dev/null && [ -x /usr/lib/wine/wine64 ] && [ -f /etc/ssl/certs/ca-certificates.crt ] && [ -f /usr/share/zoneinfo/UTC ]; }; then \
		echo "installing $(APT_PACKAGES) with apt-get"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi
	@$(MAKE) --no-print-directory influxd

demo-deps: ## Install what the demo needs (Debian snmpd, snmp; influxd)
	@if ! { [ -x /usr/sbin/snmpd ] && command -v snmpget >/dev/null; }; then \
		echo "installing $(DEMO_PACKAGES) with apt-get"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(DEMO_PACKAGES); \
	fi
	@$(MAKE) --no-print-directory influxd

influxd: ## Build influxd 1.8.10 into GOPATH/bin unless it is there
	@if [ ! -x "$(INFLUXD)" ]; then \
		echo "building influxd $(INFLUXD_VERSION) with go install (about two minutes, once)"; \
		$(GO) install github.com/influxdata/influxdb/cmd/influxd@$(INFLUXD_VERSION); \
	fi

# The browser tests save screenshots of the portal here.
ARTIFACTS       ?= $(CURDIR)/artifacts

test: deps ## Run every test with the race detector (installs what they need first)
	KPILOT_REQUIRE_ENV=1 KPILOT_INFLUXD=$(INFLUXD) KPILOT_ARTIFACTS=$(ARTIFACTS) $(GO) test -race -tags '$(TAGS)' -count=1 -timeout 20m ./...
	KPILOT_REQUIRE_ENV=1 KPILOT_INFLUXD=$(INFLUXD) $(GO) -C packaging test -count=1 -timeout 20m ./...

screenshots: deps ## Refresh docs/screenshots from the portal's browser test
	KPILOT_REQUIRE_ENV=1 KPILOT_INFLUXD=$(INFLUXD) KPILOT_ARTIFACTS=$(ARTIFACTS) $(GO) test -tags '$(TAGS)' -count=1 -run 'TestSeedFlowsInChromium|TestChannelInChromium|TestAssetEditInChromium|TestNotificationsInChromium|TestMaintenanceWindowsInChromium' ./server/portal
	mkdir -p docs/screenshots && cp $(ARTIFACTS)/screenshots/*.png docs/screenshots/

test-short: ## Run the unit tests only (no influxd, snmpd or binaries)
	$(GO) test -short -tags '$(TAGS)' -count=1 ./...
	$(GO) -C packaging test -short -count=1 ./...

fmt: ## Format the code
	gofmt -w $$(git ls-files '*.go')

vet: ## Run go vet
	$(GO) vet ./...
	$(GO) -C packaging vet ./...

lint: vet ## Check formatting and vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt wants to change:"; echo "$$out"; exit 1; fi

tidy: ## Tidy go.mod (-e: a test-only module of a dependency is not on the proxy)
	$(GO) mod tidy -e
	$(GO) -C packaging mod tidy -e

check: lint test ## What CI runs: lint and every test

demo: demo-deps build ## Run influxd, snmpd, the server and an agent on 127.0.0.1 until Ctrl-C
	@$(GO) build -o bin/kpilot-demo ./internal/demo
	@KPILOT_INFLUXD=$(INFLUXD) bin/kpilot-demo $(DEMO_FLAGS)

clean: ## Remove build output and demo state
	rm -rf bin/ dist/ .demo/
