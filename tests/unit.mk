# SPDX-License-Identifier: GPL-2.0
#
# Userspace tests of the pure parser (rtsp_parse.c) and of the NAT
# decisions (rtsp_nat_plan.c), included from the top-level Makefile:
#
#   make test-unit              unit tests of both, gcc + ASan + UBSan
#   make fuzz [FUZZ_TIME=60]    both libFuzzer harnesses, FUZZ_TIME s each,
#                               over a copy of their seed corpora
#   make fuzz-parse             the parser harness alone
#   make fuzz-nat [FUZZ_NAT_RUNS=N]
#                               the NAT planner harness alone; by count of
#                               runs instead of time with FUZZ_NAT_RUNS
#   make fuzz-build             only build the fuzzers
#   make test-be [BE_TIME=S] [BE_RUNS=N]
#                               unit tests and both harnesses (through
#                               tests/fuzz/driver.c) on big-endian s390x
#                               under qemu-s390x: tests/arch/be-test
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
UNIT_PLAN := $(UNIT_TOP)/rtsp_nat_plan.c
UNIT_PLAN_DEPS := $(UNIT_DEPS) $(UNIT_PLAN) $(UNIT_TOP)/rtsp_nat_plan.h
UNIT_BIN := $(UNIT_OUT)/test_parse
UNIT_NAT_BIN := $(UNIT_OUT)/test_nat_plan
FUZZ_BIN := $(FUZZ_OUT)/fuzz_parse
FUZZ_LOG := $(FUZZ_OUT)/fuzz.log
FUZZ_NAT_BIN := $(FUZZ_OUT)/fuzz_nat
FUZZ_NAT_LOG := $(FUZZ_OUT)/fuzz-nat.log
# A run of the NAT harness by count (e.g. 100000000) instead of FUZZ_TIME.
FUZZ_NAT_RUNS ?=

.PHONY: test-unit fuzz fuzz-build fuzz-parse fuzz-nat test-be

BE_TIME ?= 20
BE_RUNS ?=
test-be:
	$(UNIT_TOP)/tests/arch/be-test $(if $(BE_RUNS),--runs $(BE_RUNS),--time $(BE_TIME))

$(UNIT_BIN): $(UNIT_TOP)/tests/unit/test_parse.c \
	     $(UNIT_TOP)/tests/unit/unit.h $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -I$(UNIT_TOP) \
		-o $@ $(UNIT_TOP)/tests/unit/test_parse.c $(UNIT_PARSER)

$(UNIT_NAT_BIN): $(UNIT_TOP)/tests/unit/test_nat_plan.c \
		 $(UNIT_TOP)/tests/unit/unit.h $(UNIT_PLAN_DEPS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -I$(UNIT_TOP) \
		-o $@ $(UNIT_TOP)/tests/unit/test_nat_plan.c $(UNIT_PLAN) \
		$(UNIT_PARSER)

# Each binary's own last line is "N passed, N failed"; it exits 1 on any
# failure, and the sanitizers abort it on any bad access.  Both run, and
# the target ends with their total, "unit: N passed, N failed"; a binary
# that dies without its closing line counts as one more failure.
test-unit: $(UNIT_BIN) $(UNIT_NAT_BIN)
	@rc=0; pass=0; fail=0; \
	for t in $(UNIT_BIN) $(UNIT_NAT_BIN); do \
		echo "== $$(basename $$t)"; \
		$$t >$$t.log 2>&1 || rc=1; \
		cat $$t.log; \
		line=$$(grep -E '^[0-9]+ passed, [0-9]+ failed' $$t.log | \
			tail -n1); \
		if [ -z "$$line" ]; then fail=$$((fail + 1)); rc=1; continue; fi; \
		pass=$$((pass + $$(echo "$$line" | cut -d' ' -f1))); \
		fail=$$((fail + $$(echo "$$line" | cut -d' ' -f3))); \
	done; \
	echo "unit: $$pass passed, $$fail failed"; \
	exit $$rc

$(FUZZ_BIN): $(UNIT_TOP)/tests/fuzz/fuzz_parse.c $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -I$(UNIT_TOP) \
		-o $@ $(UNIT_TOP)/tests/fuzz/fuzz_parse.c $(UNIT_PARSER)

$(FUZZ_NAT_BIN): $(UNIT_TOP)/tests/fuzz/fuzz_nat.c $(UNIT_PLAN_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -I$(UNIT_TOP) \
		-o $@ $(UNIT_TOP)/tests/fuzz/fuzz_nat.c $(UNIT_PLAN) \
		$(UNIT_PARSER)

fuzz-build: $(FUZZ_BIN) $(FUZZ_NAT_BIN)

# $(call fuzz_run,NAME,BIN,SEEDS,LOG,PREFIX,LIMIT,WHAT): one libFuzzer
# run of BIN over a fresh copy of tests/fuzz/SEEDS in build/fuzz/SEEDS (the
# seed corpora stay unchanged), with LIMIT (-max_total_time or -runs,
# described as WHAT).  -timeout catches an input that loops; crashes land
# in build/fuzz/ as PREFIX<kind>-<hash>.  A shell command list whose
# status is the fuzzer's.
fuzz_run = rm -rf $(FUZZ_OUT)/$(3) && mkdir -p $(FUZZ_OUT)/$(3) && \
	cp $(UNIT_TOP)/tests/fuzz/$(3)/* $(FUZZ_OUT)/$(3)/ && \
	echo "$(1): running for $(7), log in $(4)" && \
	start=$$(date +%s) && \
	rc=0 && { $(2) -max_len=$(FUZZ_MAX_LEN) $(6) \
		-timeout=10 -print_final_stats=1 \
		-dict=$(UNIT_TOP)/tests/fuzz/rtsp.dict \
		-artifact_prefix=$(FUZZ_OUT)/$(5) \
		$(FUZZ_OUT)/$(3) > $(4) 2>&1 || rc=$$?; } && \
	if [ $$rc -ne 0 ]; then tail -n 40 $(4); fi && \
	execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(4)) && \
	echo "$(1): $${execs:-?} execs in $$(($$(date +%s) - start)) s, exit $$rc" && \
	[ $$rc -eq 0 ]

FUZZ_NAT_LIMIT = $(if $(FUZZ_NAT_RUNS),-runs=$(FUZZ_NAT_RUNS),-max_total_time=$(FUZZ_TIME))
FUZZ_NAT_WHAT = $(if $(FUZZ_NAT_RUNS),$(FUZZ_NAT_RUNS) runs,$(FUZZ_TIME) s)
FUZZ_PARSE_RUN = $(call fuzz_run,fuzz,$(FUZZ_BIN),corpus,$(FUZZ_LOG),,-max_total_time=$(FUZZ_TIME),$(FUZZ_TIME) s)
FUZZ_NAT_RUN = $(call fuzz_run,fuzz-nat,$(FUZZ_NAT_BIN),corpus_nat,$(FUZZ_NAT_LOG),nat-,$(FUZZ_NAT_LIMIT),$(FUZZ_NAT_WHAT))

fuzz-parse: $(FUZZ_BIN)
	@$(FUZZ_PARSE_RUN)

fuzz-nat: $(FUZZ_NAT_BIN)
	@$(FUZZ_NAT_RUN)

# Both, the second even when the first fails; fails if either does.
fuzz: $(FUZZ_BIN) $(FUZZ_NAT_BIN)
	@st=0; ( $(FUZZ_PARSE_RUN) ) || st=1; \
	( $(FUZZ_NAT_RUN) ) || st=1; \
	exit $$st

# Differential fuzzing: the parser against the reference revision
# FUZZ_REF (the last one fuzzed at length), for changes made for speed.
# The reference must have this rtsp_parse.h's structures and
# nf_rtsp_uri_host() (bc1edca or later).
#   make fuzz-diff [FUZZ_REF=rev] [FUZZ_TIME=60]
FUZZ_REF ?= bc1edca
FUZZ_DIFF_BIN := $(FUZZ_OUT)/fuzz_diff
FUZZ_REF_DIR := $(FUZZ_OUT)/ref
# Its global names, as they were (rtsp_*) and are (nf_rtsp_*).
FUZZ_REF_RENAME := -Drtsp_parse_msg=ref_rtsp_parse_msg \
	-Drtsp_transport_next=ref_rtsp_transport_next \
	-Drtsp_method_name=ref_rtsp_method_name \
	-Dnf_rtsp_parse_msg=ref_rtsp_parse_msg \
	-Dnf_rtsp_transport_next=ref_rtsp_transport_next \
	-Dnf_rtsp_method_name=ref_rtsp_method_name \
	-Dnf_rtsp_uri_host=ref_rtsp_uri_host

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
