# SPDX-License-Identifier: GPL-2.0
#
# rtsp-conntrack: out-of-tree build of nf_conntrack_rtsp and nf_nat_rtsp.
#
#   make                  build both modules for the running kernel
#   make KDIR=/path       ... against other headers (KERNELDIR also works)
#   make debug            build with -DDEBUG: pr_debug traces in dmesg
#   make check            the whole test suite (unit, fuzz smoke, E2E in QEMU)
#   make demo             boot a Debian kernel in QEMU and show VoD working

VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf 2>/dev/null)
KERNELRELEASE_HOST := $(shell uname -r)
KERNELDIR ?= /lib/modules/$(KERNELRELEASE_HOST)/build
KDIR ?= $(KERNELDIR)
W ?=
C ?=
INSTALL_MOD_DIR ?= updates

MODULE_VARS := CONFIG_NF_CONNTRACK_RTSP=m CONFIG_NF_NAT_RTSP=m

# Targets that need kernel headers fail early, and say why, without them.
NEED_KDIR = @test -e $(KDIR)/Makefile || { echo "No kernel headers at \
$(KDIR): install linux-headers-$(KERNELRELEASE_HOST) or pass \
KDIR=/usr/src/linux-headers-<version>" >&2; exit 1; }

.PHONY: all modules debug clean modules_install check deps test-unit fuzz \
	fuzz-build test-e2e demo matrix style sparse

all: modules

modules:
	$(NEED_KDIR)
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(MODULE_VARS) W=$(W) C=$(C) modules

debug:
	$(NEED_KDIR)
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(MODULE_VARS) W=$(W) C=$(C) \
		RTSP_EXTRA_CFLAGS=-DDEBUG modules

sparse:
	$(NEED_KDIR)
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(MODULE_VARS) W=1 C=2 modules

modules_install:
	$(NEED_KDIR)
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(MODULE_VARS) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -f *.o *.ko *.mod *.mod.c .*.cmd modules.order Module.symvers
	rm -rf build

CHECKPATCH ?= $(firstword $(wildcard $(KDIR)/scripts/checkpatch.pl \
	/usr/src/linux-source-6.1/scripts/checkpatch.pl \
	/var/cache/rtsp-conntrack-checkpatch/checkpatch.pl))
style:
	@test -n "$(CHECKPATCH)" || { echo "No checkpatch.pl: run make deps \
	(it takes it from linux-source-6.1) or pass CHECKPATCH=path" >&2; exit 1; }
	$(CHECKPATCH) --strict --no-tree --terse -f \
		nf_conntrack_rtsp_main.c nf_conntrack_rtsp.h nf_nat_rtsp_main.c \
		netfilter_helpers.h rtsp_parse.c rtsp_parse.h \
		rtsp_nat_plan.c rtsp_nat_plan.h

deps:
	scripts/deps.sh

# The whole suite; its last line is the total "N passed, N failed".
check: deps
	scripts/check.sh

test-e2e: deps
	tests/e2e/run $(E2E_ARGS)

demo: deps
	tests/e2e/demo

# Build against Debian's 5.10, 6.1, 6.12, 7.2 and 7.3 headers (chroots and
# packages cached in /var/cache/rtsp-conntrack-e2e) and run the whole E2E
# suite on each kernel: one line per kernel.  MATRIX_ARGS="--tests ..."
# or series names narrow it; "--jobs N" runs N kernels at once.
matrix: deps
	tests/matrix/all --strict $(MATRIX_ARGS)

-include tests/unit.mk
-include scripts/package.mk
-include bench/bench.mk
