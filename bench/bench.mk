# SPDX-License-Identifier: GPL-2.0
#
# Benchmarks, included from the top-level Makefile:
#
#   make bench           run bench/run.sh: writes bench/RESULTS.md (~21 min on
#                        this 2-CPU machine with the host busy; icount VMs)
#   make bench-build     only the userspace tools, into build/bench/bin
#
# Parameters are environment variables (BENCH_PARTS, BENCH_MEDIA_ROUNDS,
# BENCH_SCALE_N, ...): see bench/run.sh. media, control and scale also
# measure the anchor, rtsp-linux, built by bench/anchor.sh from
# ../shared/anchors/rtsp-linux (outside the repository; BENCH_ANCHORS=
# runs without it). The guest parts need root, like
# tests/e2e/run. Everything is built under build/ (gitignored); paths are
# taken from where this file lives, so it works whatever the current
# directory is.

BENCH_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
BENCH_CC ?= gcc
# The kernel builds the parser with -O2 too.
BENCH_CFLAGS ?= -std=gnu11 -O2 -g -fno-strict-aliasing -Wall -Wextra -Werror
BENCH_BIN := $(BENCH_TOP)/build/bench/bin
BENCH_TOOLS := rtspd rtspcli udpblast udpsink

.PHONY: bench bench-build

$(BENCH_BIN)/parse_bench: $(BENCH_TOP)/bench/src/parse_bench.c \
			  $(BENCH_TOP)/rtsp_parse.c $(BENCH_TOP)/rtsp_parse.h
	@mkdir -p $(@D)
	$(BENCH_CC) $(BENCH_CFLAGS) -I$(BENCH_TOP) -o $@ \
		$(BENCH_TOP)/bench/src/parse_bench.c $(BENCH_TOP)/rtsp_parse.c

# Dynamically linked: the guest runs them from the host's /usr.
$(BENCH_BIN)/%: $(BENCH_TOP)/bench/src/%.c
	@mkdir -p $(@D)
	$(BENCH_CC) $(BENCH_CFLAGS) -pthread -o $@ $<

bench-build: $(BENCH_BIN)/parse_bench $(addprefix $(BENCH_BIN)/,$(BENCH_TOOLS))

bench: bench-build
	$(BENCH_TOP)/bench/run.sh
