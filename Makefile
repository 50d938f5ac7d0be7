# dnsd: authoritative DNS for hosted email-authentication records.
# `make` builds build/dnsd and build/dnsdctl; `make run` serves the demo zone on
# 127.0.0.1:5300; `make test` runs every test. Both install their Debian packages first.

CC      ?= gcc
BUILD   ?= build
WERROR  ?=
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter $(WERROR) -D_GNU_SOURCE -Idnsd -pthread
LDLIBS  += -luv -lldns -lsqlite3 -lcrypto -pthread

BUILD_PKGS = build-essential pkg-config libuv1-dev libldns-dev libsqlite3-dev libssl-dev
TEST_PKGS  = bind9-dnsutils knot-dnsutils ldnsutils python3 python3-dkim python3-nacl \
             python3-spf python3-dnspython sqlite3 opendkim-tools

LIB_SRC  = $(filter-out dnsd/main.c,$(wildcard dnsd/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test-deps run test unit system clean format

all: $(BUILD)/dnsd $(BUILD)/dnsdctl

$(BUILD)/obj/%.o: %.c $(wildcard dnsd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libdnsd.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/dnsd: $(BUILD)/obj/dnsd/main.o $(BUILD)/libdnsd.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/dnsdctl: $(BUILD)/obj/tools/dnsdctl.o $(BUILD)/libdnsd.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/t.h $(BUILD)/libdnsd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libdnsd.a $(LDLIBS)

# Installs the Debian packages that are missing (as root, or through sudo).
deps:
	@tools/install-deps $(BUILD_PKGS)

test-deps:
	@tools/install-deps $(BUILD_PKGS) $(TEST_PKGS)

# The demo: a store under var/ (git-ignored), seeded once, and dnsd on 127.0.0.1:5300.
run: deps
	@$(MAKE) --no-print-directory all
	@tools/demo-run

unit: $(UNIT_BIN)

test: test-deps
	@$(MAKE) --no-print-directory all unit
	@tests/run

clean:
	rm -rf $(BUILD)

format:
	clang-format -i dnsd/*.c dnsd/*.h tools/*.c tests/unit/*.c tests/unit/*.h
