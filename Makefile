# runbox: a plain Makefile.  `make` builds the static binary, `make test`
# runs every suite against it and against the ASan/UBSan build.

CC        ?= gcc
BUILD     := build
THIRD     := $(BUILD)/3p
VERSION   := 0.1.0
PYTHON    := /usr/bin/python3

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wformat-security \
             -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition \
             -Wundef -Wvla -Wimplicit-fallthrough -Wnull-dereference \
             -Wno-format-nonliteral
HARDEN    := -fstack-protector-strong -fstack-clash-protection -fcf-protection \
             -D_FORTIFY_SOURCE=2
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) -DRUNBOX_VERSION='"$(VERSION)"' \
             -Ipkg -I$(THIRD)/include -MMD -MP
LDHARDEN  := -Wl,-z,relro,-z,now,-z,noexecstack

PKG_SRC   := $(wildcard pkg/*.c)
PKG_OBJ   := $(PKG_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ  := $(BUILD)/obj/cmd/runbox/main.o

ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
ASAN_OBJ  := $(PKG_SRC:%.c=$(BUILD)/asan/obj/%.o) $(BUILD)/asan/obj/cmd/runbox/main.o
SYS_LIBS  := -lmicrohttpd -lcjson -lseccomp -larchive -lcurl -lpthread -lm

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)

.PHONY: all deps third-party asan unit test blackbox demo bench fuzz fuzz-replay clean format-check tidy \
        image-deps image image-test

all: deps $(BUILD)/runbox

# ---- packages ---------------------------------------------------------------
deps:
	@tests/tools/deps.sh runtime-image/build-packages.txt tests/packages.txt \
		runtime-image/stack-packages.txt

# ---- third-party static archives (built from Debian's sources) -------------
$(THIRD)/ldlibs: runtime-image/third-party.sh | deps
	runtime-image/third-party.sh $(abspath $(THIRD))

third-party: $(THIRD)/ldlibs

# ---- the static binary ------------------------------------------------------
$(BUILD)/obj/%.o: %.c | $(THIRD)/ldlibs
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(HARDEN) -c $< -o $@

$(BUILD)/runbox: $(PKG_OBJ) $(MAIN_OBJ) $(THIRD)/ldlibs
	$(CC) -static $(LDHARDEN) -o $@ $(PKG_OBJ) $(MAIN_OBJ) $$(cat $(THIRD)/ldlibs) -lm 2> $(BUILD)/link.log \
		|| { cat $(BUILD)/link.log; exit 1; }
	@grep -v -e 'statically linked applications requires at runtime' -e 'in function' $(BUILD)/link.log || true

# ---- the sanitizer build (dynamic, Debian's shared libraries) ---------------
$(BUILD)/asan/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) -std=gnu11 $(ASAN_FLAGS) $(WARN) -DRUNBOX_VERSION='"$(VERSION)"' \
		-Ipkg -MMD -MP -c $< -o $@

$(BUILD)/asan/runbox: $(ASAN_OBJ)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(SYS_LIBS)

asan: deps $(BUILD)/asan/runbox

# ---- tests -------------------------------------------------------------------
# Each unit test links the pure modules it needs, with the sanitizers on.
$(BUILD)/unit/test_%: tests/unit/test_%.c $(PKG_SRC) | deps
	@mkdir -p $(dir $@)
	@echo "  CC unit $<"
	@$(CC) -std=gnu11 $(ASAN_FLAGS) $(WARN) -Wno-missing-prototypes -DRUNBOX_VERSION='"$(VERSION)"' -Ipkg \
		-o $@ $< $(PKG_SRC) $(SYS_LIBS) -lcmocka

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# Every pytest suite (contract, workloads, attacks as root and unprivileged,
# platform rehearsal) against the static build, the contract also against
# the ASan build; ends with one "N passed, N failed, N skipped" line.
blackbox: all asan
	tests/tools/run-suites.sh $(BUILD)/runbox $(BUILD)/asan/runbox

fuzz: deps
	tests/fuzz/run.sh

# The fuzzers' saved regressions and seed corpus, replayed once (no fuzzing).
fuzz-replay: deps
	FUZZ_SECONDS=0 tests/fuzz/run.sh

test: deps all asan unit fuzz-replay blackbox

demo: all
	@echo '$$ echo '"'"'{"script":"import sys; print(2+2); print(sys.version.split()[0])"}'"'"' | build/runbox'
	@echo '{"script":"import sys; print(2+2); print(sys.version.split()[0])"}' | RUNBOX_LOG=off $(BUILD)/runbox

bench: all
	$(PYTHON) tests/bench/bench.py $(BUILD)/runbox

# ---- the runtime image ---------------------------------------------------------
# `make image` builds $(IMAGE) with docker when a docker engine answers, else
# with podman (runc).  IMAGE_BASE=debian:bookworm-slim builds from a registry's
# base instead of the local debootstrap one; WHEELS=DIR bakes that directory's
# wheels instead of the default set (Debian's wheels and two self-test wheels).
IMAGE      ?= localhost/runbox:latest
IMAGE_BASE ?=
WHEELS     ?=

image-deps:
	@tests/tools/deps.sh runtime-image/image-packages.txt

image: all image-deps
ifeq ($(WHEELS),)
	$(PYTHON) runtime-image/make-wheels.py $(BUILD)/image-wheels
	runtime-image/build-image.sh $(IMAGE) $(BUILD)/runbox $(BUILD)/image-wheels $(IMAGE_BASE)
else
	runtime-image/build-image.sh $(IMAGE) $(BUILD)/runbox $(WHEELS) $(IMAGE_BASE)
endif

# The image suite (tests/image) against $(IMAGE), then its report: image and
# layer sizes, cold start of each mode, print(1) in the container vs the host.
image-test: image
	tests/image/run.sh $(IMAGE) $(BUILD)/runbox

format-check:
	clang-format --dry-run --Werror cmd/runbox/*.c pkg/*.c pkg/*.h

tidy:
	clang-tidy $(PKG_SRC) -- -std=gnu11 -Ipkg

clean:
	rm -rf $(BUILD)/obj $(BUILD)/asan $(BUILD)/unit $(BUILD)/runbox

-include $(shell find $(BUILD)/obj $(BUILD)/asan -name '*.d' 2>/dev/null)
