# SPDX-License-Identifier: GPL-2.0
#
# Userspace tests of the pure parser (rtsp_parse.c), included from the
# top-level Makefile:
#
#   make test-unit              unit tests, gcc + ASan + UBSan
#   make fuzz [FUZZ_TIME=60]    libFuzzer run over a copy of the seed corpus
#   make fuzz-build             only build the fuzzer
#
# Everything is built under build/ (gitignored).  Paths are taken from
# where this file lives, so it works whatever the current directory is.

UNIT_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)

UNIT_CC ?= gcc
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_MAX_LEN ?= 4096

UNIT_OUT := $(UNIT_TOP)/build/unit
FUZZ_OUT := $(UNIT_TOP)/build/fuzz

UNIT_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
UNIT_CFLAGS ?= -std=gnu11 -g -O1 -fno-omit-frame-pointer \
	       -Wall -Wextra -Werror
FUZZ_CFLAGS ?= -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

UNIT_PARSER := $(UNIT_TOP)/rtsp_parse.c
UNIT_DEPS := $(UNIT_PARSER) $(UNIT_TOP)/rtsp_parse.h
UNIT_BIN := $(UNIT_OUT)/test_parse
FUZZ_BIN := $(FUZZ_OUT)/fuzz_parse
FUZZ_LOG := $(FUZZ_OUT)/fuzz.log

.PHONY: test-unit fuzz fuzz-build

$(UNIT_BIN): $(UNIT_TOP)/tests/unit/test_parse.c \
	     $(UNIT_TOP)/tests/unit/unit.h $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -I$(UNIT_TOP) \
		-o $@ $(UNIT_TOP)/tests/unit/test_parse.c $(UNIT_PARSER)

# The binary's own last line is "N passed, N failed"; it exits 1 on any
# failure, and the sanitizers abort it on any bad access.
test-unit: $(UNIT_BIN)
	$(UNIT_BIN)

$(FUZZ_BIN): $(UNIT_TOP)/tests/fuzz/fuzz_parse.c $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -I$(UNIT_TOP) \
		-o $@ $(UNIT_TOP)/tests/fuzz/fuzz_parse.c $(UNIT_PARSER)

fuzz-build: $(FUZZ_BIN)

# A fresh copy of the seeds each run keeps tests/fuzz/corpus unchanged.
# -timeout catches an input that loops; crashes land in build/fuzz/.
fuzz: $(FUZZ_BIN)
	@rm -rf $(FUZZ_OUT)/corpus
	@mkdir -p $(FUZZ_OUT)/corpus
	@cp $(UNIT_TOP)/tests/fuzz/corpus/* $(FUZZ_OUT)/corpus/
	@echo "fuzz: running for $(FUZZ_TIME) s, log in $(FUZZ_LOG)"
	@rc=0; \
	$(FUZZ_BIN) -max_len=$(FUZZ_MAX_LEN) -max_total_time=$(FUZZ_TIME) \
		-timeout=10 -print_final_stats=1 \
		-dict=$(UNIT_TOP)/tests/fuzz/rtsp.dict \
		-artifact_prefix=$(FUZZ_OUT)/ \
		$(FUZZ_OUT)/corpus > $(FUZZ_LOG) 2>&1 || rc=$$?; \
	if [ $$rc -ne 0 ]; then tail -n 40 $(FUZZ_LOG); fi; \
	execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' \
		$(FUZZ_LOG)); \
	echo "fuzz: $${execs:-?} execs in $(FUZZ_TIME) s, exit $$rc"; \
	exit $$rc

# Differential fuzzing: the parser against the reference revision
# FUZZ_REF (the last one fuzzed at length), for changes made for speed.
#   make fuzz-diff [FUZZ_REF=rev] [FUZZ_TIME=60]
FUZZ_REF ?= 6135d53
FUZZ_DIFF_BIN := $(FUZZ_OUT)/fuzz_diff
FUZZ_REF_DIR := $(FUZZ_OUT)/ref
FUZZ_REF_RENAME := -Drtsp_parse_msg=ref_rtsp_parse_msg \
	-Drtsp_transport_next=ref_rtsp_transport_next \
	-Drtsp_method_name=ref_rtsp_method_name

.PHONY: fuzz-diff fuzz-diff-build FORCE
$(FUZZ_REF_DIR)/rev: FORCE
	@mkdir -p $(@D)
	@rev=$$(git -C $(UNIT_TOP) rev-parse --verify $(FUZZ_REF)^{commit}) && \
	if [ "$$(cat $@ 2>/dev/null)" != "$$rev" ]; then \
		git -C $(UNIT_TOP) show $$rev:rtsp_parse.c >$(@D)/rtsp_parse.c && \
		git -C $(UNIT_TOP) show $$rev:rtsp_parse.h >$(@D)/rtsp_parse.h && \
		echo $$rev >$@; \
	fi

$(FUZZ_DIFF_BIN): $(UNIT_TOP)/tests/fuzz/fuzz_diff.c $(UNIT_DEPS) \
		  $(FUZZ_REF_DIR)/rev
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -I$(FUZZ_REF_DIR) \
		$(FUZZ_REF_RENAME) \
		-c -o $(FUZZ_REF_DIR)/rtsp_parse.o $(FUZZ_REF_DIR)/rtsp_parse.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -I$(UNIT_TOP) \
		-o $@ $(UNIT_TOP)/tests/fuzz/fuzz_diff.c $(UNIT_PARSER) \
		$(FUZZ_REF_DIR)/rtsp_parse.o

fuzz-diff-build: $(FUZZ_DIFF_BIN)

fuzz-diff: $(FUZZ_DIFF_BIN)
	@rm -rf $(FUZZ_OUT)/diff-corpus
	@mkdir -p $(FUZZ_OUT)/diff-corpus
	@cp $(UNIT_TOP)/tests/fuzz/corpus/* $(FUZZ_OUT)/diff-corpus/
	@$(FUZZ_DIFF_BIN) -max_len=$(FUZZ_MAX_LEN) \
		-max_total_time=$(FUZZ_TIME) -timeout=10 -print_final_stats=1 \
		-dict=$(UNIT_TOP)/tests/fuzz/rtsp.dict \
		-artifact_prefix=$(FUZZ_OUT)/diff- \
		$(FUZZ_OUT)/diff-corpus >$(FUZZ_OUT)/fuzz-diff.log 2>&1; \
	rc=$$?; [ $$rc -eq 0 ] || tail -n 30 $(FUZZ_OUT)/fuzz-diff.log; \
	echo "fuzz-diff: $$(sed -n 's/^stat::number_of_executed_units: *//p' \
		$(FUZZ_OUT)/fuzz-diff.log) execs against $(FUZZ_REF), exit $$rc"; \
	exit $$rc
