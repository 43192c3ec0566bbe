GO      ?= go
BIN     := bin/shoal
PKGS    := ./...

.PHONY: build run test deps vet fmt-check fuzz-seeds bench bench-compare bench-connections bench-memory clean

build:
	$(GO) build -o $(BIN) ./cmd/shoal

# make run: a local cluster on loopback (configuration endpoint + 3 nodes).
# ARGS go to shoal up: make run ARGS='--restart -- -I 2m' restarts a node
# that exits and gives every node -I 2m.
run: build
	./$(BIN) up --nodes 3 $(ARGS)

# deps installs the real peers the tests talk to: Debian's memcached (side by
# side comparisons, memcached-tool), libmemcached-tools (memccapable, memcslap,
# memcdump, and memcstat, memccp, memccat for the README's examples),
# pymemcache, the netcat of the README's examples (nc -q1 is OpenBSD's),
# openssl (s_client), iproute2 (network namespaces for partitions),
# util-linux (prlimit), sasl2-bin and libsasl2-modules (memcached -S),
# prometheus (a real server scraping a cluster, and promtool),
# chromium (the dashboard, loaded in a real headless browser).
deps:
	@need=""; \
	command -v memcached >/dev/null 2>&1 || need="$$need memcached"; \
	command -v memccapable >/dev/null 2>&1 || need="$$need libmemcached-tools"; \
	command -v nc >/dev/null 2>&1 || need="$$need netcat-openbsd"; \
	/usr/bin/python3 -c 'import pymemcache' >/dev/null 2>&1 || need="$$need python3-pymemcache"; \
	command -v openssl >/dev/null 2>&1 || need="$$need openssl"; \
	command -v ip >/dev/null 2>&1 || need="$$need iproute2"; \
	command -v prlimit >/dev/null 2>&1 || need="$$need util-linux"; \
	command -v saslpasswd2 >/dev/null 2>&1 || need="$$need sasl2-bin libsasl2-modules"; \
	command -v promtool >/dev/null 2>&1 || need="$$need prometheus"; \
	command -v chromium >/dev/null 2>&1 || need="$$need chromium"; \
	if [ -n "$$need" ]; then \
		echo "installing:$$need"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	fi

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# test runs everything: vet, formatting, the unit, fuzz-seed and end-to-end
# tests under the race detector (the end-to-end tests build and start real
# shoal processes, memcached and memccapable).
test: deps build fmt-check vet
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin

# bench-compare measures shoal side by side with Debian's memcached: each
# server pinned to CPU 0, the load generator to CPU 1, the issue's five
# workloads in alternation for three rounds (about 3 minutes). It writes
# bench/results/latest.{md,svg,json}. COMPARE_FLAGS passes options to
# bench/compare, e.g. COMPARE_FLAGS='--duration 2s --rounds 1';
# COMPARE_FLAGS='--syscalls' also counts each server's system calls per op
# (perf stat, from Debian's linux-perf, installed then).
bench-compare: build
	@command -v memcached >/dev/null 2>&1 || { \
		echo "installing memcached"; \
		apt-get update -qq && apt-get install -y -qq memcached >/dev/null; }
	@if [ -n "$(findstring --syscalls,$(COMPARE_FLAGS))" ] && ! command -v perf >/dev/null 2>&1; then \
		echo "installing linux-perf"; \
		apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; fi
	$(GO) build -o bin/shoal-compare ./bench/compare
	taskset -c 1 ./bin/shoal-compare --shoal ./$(BIN) --memcached "$$(command -v memcached)" \
		--server-cpu 0 --out bench/results $(COMPARE_FLAGS)

# bench-connections runs bench/compare's connections workload: get90's 50 busy
# connections alone, beside 10,000 idle ones and beside 10,000 slow ones (a
# byte a second), on both servers in alternation; resident memory per crowd
# connection and the busy ones' throughput and p99. It writes
# bench/results/connections.{md,json}.
bench-connections: build
	@command -v memcached >/dev/null 2>&1 || { \
		echo "installing memcached"; \
		apt-get update -qq && apt-get install -y -qq memcached >/dev/null; }
	$(GO) build -o bin/shoal-compare ./bench/compare
	taskset -c 1 ./bin/shoal-compare --connections --shoal ./$(BIN) --memcached "$$(command -v memcached)" \
		--server-cpu 0 --out bench/results $(COMPARE_FLAGS)

# bench-memory runs bench/compare's two storage comparisons: the resident
# memory sweep (the same items into both servers, nothing evicted; memory.md)
# and the miss ratio under memory pressure (zipfian, twice -m; missratio.md).
bench-memory: build
	@command -v memcached >/dev/null 2>&1 || { \
		echo "installing memcached"; \
		apt-get update -qq && apt-get install -y -qq memcached >/dev/null; }
	$(GO) build -o bin/shoal-compare ./bench/compare
	taskset -c 1 ./bin/shoal-compare --shoal ./$(BIN) --memcached "$$(command -v memcached)" \
		--server-cpu 0 --out bench/results --memory-sweep
	taskset -c 1 ./bin/shoal-compare --shoal ./$(BIN) --memcached "$$(command -v memcached)" \
		--server-cpu 0 --out bench/results --miss-ratio
