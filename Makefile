# dnsd: authoritative DNS for hosted email-authentication records.
# `make` builds build/dnsd and build/dnsdctl; `make run` serves the demo zone on
# 127.0.0.1:5300; `make test` runs every test. Both install their Debian packages first.

CC      ?= gcc
BUILD   ?= build
WERROR  ?=
CFLAGS  ?= -O2 -g
# What every build needs; CFLAGS (optimisation, sanitizers) may be set on the command line.
XCFLAGS  = $(CFLAGS) -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter $(WERROR) -D_GNU_SOURCE -Idnsd -pthread
LDLIBS  += -luv -lldns -lsqlite3 -lcrypto -lmicrohttpd -pthread
# JSON (dnsdctl's api-token, dnsd-api), from Debian's package.
JSON_LIBS = $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)
SANITIZE = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

BUILD_PKGS = build-essential pkg-config libuv1-dev libldns-dev libsqlite3-dev libssl-dev libmicrohttpd-dev \
             libjansson-dev scdoc
TEST_PKGS  = bind9-dnsutils knot-dnsutils ldnsutils python3 python3-dkim python3-nacl nsd knot \
             python3-spf python3-dnspython sqlite3 opendkim-tools iproute2 openssl passwd unbound \
             curl python3-jsonschema python3-yaml prometheus

# The server's own parts (its state, the refresh, the scrape) link into dnsd only.
SRV_SRC  = dnsd/main.c dnsd/refresh.c dnsd/srvmetrics.c
SRV_OBJ  = $(SRV_SRC:%.c=$(BUILD)/obj/%.o)
LIB_SRC  = $(filter-out $(SRV_SRC),$(wildcard dnsd/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
# The fuzz targets, tests/fuzz/fuzz_NAME.c, each with its corpus in tests/fuzz/corpus/NAME.
FUZZ_TARGETS = answer zone config csv pem pubkey check
FUZZ_BIN = $(FUZZ_TARGETS:%=$(BUILD)/tests/test_fuzz_%)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%) $(FUZZ_BIN) $(BUILD)/tests/alloccount.so
FUZZ_SECONDS ?= 60
FUZZ_TARGET ?= answer
# The tool's objects a target links (the CSV parser is dnsdctl's, not the library's).
FUZZ_TOOLS_csv = tools/csv.c tools/ctl.c
FUZZ_OBJ = $(FUZZ_TOOLS_$(FUZZ_TARGET):%.c=build-fuzz/obj/%.o)
# Inputs longer than this are not tried: a key file, a zone file of a few records.
FUZZ_MAX_LEN ?= $(if $(filter answer,$(FUZZ_TARGET)),4096,8192)

.PHONY: all man deb deps test-deps run test test-asan test-plain unit clean format fuzz fuzz-build fuzz-merge install bench bench-xfr bench-api bench-import

PREFIX  ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
UNITDIR ?= $(SYSCONFDIR)/systemd/system

all: $(BUILD)/dnsd $(BUILD)/dnsdctl $(BUILD)/dnsd-api

# The man pages, from their scdoc sources beside the code (man/*.scd).
MAN_SRC = $(wildcard man/*.scd)
MAN_OUT = $(MAN_SRC:man/%.scd=$(BUILD)/man/%)
man: $(MAN_OUT)
$(BUILD)/man/%: man/%.scd
	@mkdir -p $(@D)
	scdoc <$< >$@.tmp && mv $@.tmp $@

CTL_OBJ  = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/*.c))

$(BUILD)/obj/%.o: %.c $(wildcard dnsd/*.h tools/*.h api/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) -c -o $@ $<

$(BUILD)/libdnsd.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/dnsd: $(SRV_OBJ) $(BUILD)/libdnsd.a
	$(CC) $(XCFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/dnsdctl: $(CTL_OBJ) $(BUILD)/libdnsd.a
	$(CC) $(XCFLAGS) -o $@ $^ $(LDLIBS) $(JSON_LIBS)

# The HTTP API server: api/, with dnsdctl's config file, store opening and token JSON.
API_OBJ = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard api/*.c))
API_CTL_OBJ = $(patsubst %,$(BUILD)/obj/tools/%.o,ctl ctlconf apijson)
$(API_OBJ): XCFLAGS += -Itools $(shell pkg-config --cflags libmicrohttpd jansson 2>/dev/null)
$(BUILD)/dnsd-api: $(API_OBJ) $(API_CTL_OBJ) $(BUILD)/libdnsd.a
	$(CC) $(XCFLAGS) -o $@ $^ $(LDLIBS) $(JSON_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libdnsd.a
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) -Itests/unit -o $@ $< $(BUILD)/libdnsd.a $(LDLIBS)

# Each fuzz target, replayed over its corpus by gcc (part of `make unit`).
$(BUILD)/tests/test_fuzz_csv: $(FUZZ_TOOLS_csv:%.c=$(BUILD)/obj/%.o)
$(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(BUILD)/libdnsd.a
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) -Itools -DFUZZ_CORPUS='"tests/fuzz/corpus/$*"' -o $@ $< tests/fuzz/replay.c \
		$(filter %.o,$^) $(BUILD)/libdnsd.a $(LDLIBS) $(if $(filter %.o,$^),$(JSON_LIBS))

# The allocation counter that tests/system/alloc.sh preloads into dnsd (never
# sanitized: it stands in for the allocator).
$(BUILD)/tests/alloccount.so: tests/alloc/count.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -shared -fPIC -Wall -Wextra $(WERROR) -o $@ $<

# libFuzzer (ASan and UBSan, no recovery) over one target, FUZZ_TARGET (one of
# FUZZ_TARGETS; default answer), for FUZZ_SECONDS; FUZZ_ARGS go to libFuzzer. New
# inputs go to build/fuzz-corpus/NAME; `make fuzz-merge` folds the ones that add
# coverage into tests/fuzz/corpus/NAME, minimised (files named regress-* are the
# inputs of bugs found, kept whatever their coverage).
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
# FUZZ_LDNS=/path/libldns.a links an ldns built with the same sanitizers and
# -fsanitize=fuzzer-no-link (its 1.8.3 source: libtoolize -ci; autoreconf -fi;
# ./configure CC=clang CFLAGS=... --disable-shared; make lib), so that libFuzzer
# sees ldns's parser too, not only dnsd's code around it. Add
# -fno-sanitize=nonnull-attribute,float-cast-overflow to its CFLAGS, for two
# kinds of UB in ldns that dnsd cannot reach around: it copies an empty base64
# value with memcpy(p, NULL, 0) (a DHCID record "-"), and it converts a LOC
# record's altitude of 1.1e+32 to uint32_t.
FUZZ_LIBS = $(if $(FUZZ_LDNS),$(FUZZ_LDNS) $(filter-out -lldns,$(LDLIBS)),$(LDLIBS))
fuzz-build:
	@tools/install-deps clang libclang-rt-14-dev $(BUILD_PKGS)
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
		CFLAGS='-O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN)' build-fuzz/libdnsd.a $(FUZZ_OBJ)
	clang -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -Idnsd -Itools -D_GNU_SOURCE \
		-o build-fuzz/fuzz_$(FUZZ_TARGET) tests/fuzz/fuzz_$(FUZZ_TARGET).c $(FUZZ_OBJ) \
		build-fuzz/libdnsd.a $(FUZZ_LIBS) $(if $(FUZZ_OBJ),$(JSON_LIBS))
fuzz: fuzz-build
	@mkdir -p build/fuzz-corpus/$(FUZZ_TARGET)
	build-fuzz/fuzz_$(FUZZ_TARGET) -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
		$(FUZZ_ARGS) build/fuzz-corpus/$(FUZZ_TARGET) tests/fuzz/corpus/$(FUZZ_TARGET)
fuzz-merge: fuzz-build
	rm -rf build/fuzz-merged && mkdir -p build/fuzz-merged build/fuzz-corpus/$(FUZZ_TARGET)
	build-fuzz/fuzz_$(FUZZ_TARGET) -merge=1 -max_len=$(FUZZ_MAX_LEN) build/fuzz-merged \
		tests/fuzz/corpus/$(FUZZ_TARGET) build/fuzz-corpus/$(FUZZ_TARGET)
	cp tests/fuzz/corpus/$(FUZZ_TARGET)/regress-* build/fuzz-merged/ 2>/dev/null || true
	rm -rf tests/fuzz/corpus/$(FUZZ_TARGET) && mv build/fuzz-merged tests/fuzz/corpus/$(FUZZ_TARGET)

# The benchmark against NSD, Knot and PowerDNS on the same data (not part of
# `make test`; see docs/benchmarks.md). SIZES, ROUNDS, BENCH_SECONDS, SERVERS
# tune it; it installs the servers and dnsperf itself. Then the zone transfer
# benchmark (dnsd and Knot as primaries of a Knot secondary), alone with
# `make bench-xfr`.
bench: deps
	@$(MAKE) --no-print-directory all
	bench/run
	bench/run xfr
bench-xfr: deps
	@$(MAKE) --no-print-directory all
	bench/run xfr
# domain add through the API (16 clients), alone and during a 100,000-domain import
# while dnsd answers at 70 % of its saturated load: p50/p99 and no request lost
# (bench/apibench.py; API_N, API_IMPORT_N, API_CLIENTS, API_SECONDS tune it).
bench-api: deps
	@$(MAKE) --no-print-directory all
	bench/apibench.py
# dnsdctl import of 1,000,000 rows (gen.py's 100,000, ten times) into a new store:
# wall, CPU, memory, bytes written (bench/importbench.py; IMPORT_N sets the rows).
IMPORT_N ?= 1000000
bench-import: deps
	@$(MAKE) --no-print-directory all
	bench/importbench.py --n $(IMPORT_N)

# Installs the Debian packages that are missing (as root, or through sudo).
deps:
	@tools/install-deps $(BUILD_PKGS)

test-deps:
	@tools/install-deps $(BUILD_PKGS) $(TEST_PKGS)

# The demo: a store under var/ (git-ignored), seeded once, and dnsd on 127.0.0.1:5300.
# It prints dig lines to try: dig comes with it (RUN_PKGS).
RUN_PKGS = bind9-dnsutils
run: deps
	@tools/install-deps $(RUN_PKGS)
	@$(MAKE) --no-print-directory all
	@tools/demo-run

unit: $(UNIT_BIN)

# The whole suite on the normal build and under AddressSanitizer and UBSan (no
# recovery) in build-asan/, side by side (tests/run-all); one closing line counts
# both runs. Both builds use every core.
NPROC := $(shell nproc 2>/dev/null || echo 2)
test: test-deps
	@$(MAKE) --no-print-directory -j$(NPROC) all unit
	@$(MAKE) --no-print-directory -j$(NPROC) BUILD=build-asan CFLAGS='$(SANITIZE)' all unit
	@tests/run-all

# Only the sanitizer run, or only the plain one.
test-asan: test-deps
	@$(MAKE) --no-print-directory BUILD=build-asan CFLAGS='$(SANITIZE)' all unit
	@BUILD=build-asan tests/run
test-plain: test-deps
	@$(MAKE) --no-print-directory all unit
	@tests/run

# dnsd and dnsd-api to sbin, dnsdctl to bin, the systemd units (the server, the key
# lifecycle job and the check of the customers' records, each with its timer, and the
# API server, not enabled), the users (sysusers.d) and directories
# (tmpfiles.d) of the layout docs/security.md describes, the docs; the example
# settings only where none exist yet. The units name the installed paths, so
# PREFIX is written into them.
install: all man
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(PREFIX)/share/doc/dnsd $(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(SYSCONFDIR)/dnsd \
		$(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(PREFIX)/lib/tmpfiles.d \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 $(BUILD)/man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 $(BUILD)/man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0755 $(BUILD)/dnsd $(DESTDIR)$(PREFIX)/sbin/dnsd
	install -m 0755 $(BUILD)/dnsdctl $(DESTDIR)$(PREFIX)/bin/dnsdctl
	install -m 0755 $(BUILD)/dnsd-api $(DESTDIR)$(PREFIX)/sbin/dnsd-api
	for u in dist/systemd/*; do \
		sed -e 's|/usr/local/|$(PREFIX)/|g' -e 's|/etc/default/|$(SYSCONFDIR)/default/|g' \
			-e 's|/etc/dnsd/|$(SYSCONFDIR)/dnsd/|g' $$u >$(DESTDIR)$(UNITDIR)/$$(basename $$u) && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u) || exit 1; done
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/dnsd/
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/dnsd ] || sed -e 's|/etc/dnsd/|$(SYSCONFDIR)/dnsd/|g' dist/default/dnsd >$(DESTDIR)$(SYSCONFDIR)/default/dnsd
	[ -e $(DESTDIR)$(SYSCONFDIR)/dnsd/dnsd.conf ] || sed -e 's|/etc/dnsd/|$(SYSCONFDIR)/dnsd/|g' dist/dnsd.conf >$(DESTDIR)$(SYSCONFDIR)/dnsd/dnsd.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/dnsd/dnsdctl.conf ] || sed -e 's|/etc/dnsd/|$(SYSCONFDIR)/dnsd/|g' dist/dnsdctl.conf >$(DESTDIR)$(SYSCONFDIR)/dnsd/dnsdctl.conf
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/dnsd/dnsdctl.conf
	install -m 0644 dist/sysusers.d/dnsd.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/dnsd.conf
	install -m 0644 dist/tmpfiles.d/dnsd.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/dnsd.conf
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then \
		systemd-sysusers $(PREFIX)/lib/sysusers.d/dnsd.conf && \
		systemd-tmpfiles --create $(PREFIX)/lib/tmpfiles.d/dnsd.conf && \
		systemctl daemon-reload; fi
	@echo "installed; enable the key lifecycle job with: systemctl enable --now dnsd-maintain.timer"
	@echo "and the check of the customers' records with: systemctl enable --now dnsd-check.timer"

# The Debian packages (debian/), in build/deb: dnsd, dnsdctl and dnsd-api.
DEB_PKGS = devscripts debhelper dpkg-dev lintian fakeroot
deb:
	@tools/install-deps $(BUILD_PKGS) $(DEB_PKGS)
	@mkdir -p build/deb
	dpkg-buildpackage -us -uc -b --buildinfo-option=-ubuild/deb --changes-option=-ubuild/deb \
		--buildinfo-option=-Obuild/deb/dnsd.buildinfo --changes-option=-Obuild/deb/dnsd.changes

clean:
	rm -rf $(BUILD) build-asan build-fuzz

format:
	clang-format -i dnsd/*.c dnsd/*.h tools/*.c tools/*.h api/*.c api/*.h tests/unit/*.c tests/unit/*.h
