# SPDX-License-Identifier: GPL-2.0
#
# Packaging targets, included by the top-level Makefile.
#
#   make install [KVER="6.1.0-56-amd64 ..."] [PREFIX=/usr/local]
#                        as root: copy the module sources to
#                        /usr/src/rtsp-conntrack-$(PKG_VERSION), dkms add,
#                        build and install them for KVER (default: the
#                        running kernel), and install the router scripts
#                        (rtsp-attach, rtsp-conntrack-setup,
#                        rtsp-conntrack-status) into $(PREFIX)/sbin,
#                        docs/ into $(PREFIX)/share/doc/rtsp-conntrack
#   make uninstall       undo it, for every kernel
#   make deb             rtsp-conntrack-dkms_$(PKG_VERSION)_all.deb (dh-dkms)
#   make sign KEY=key.pem CERT=cert.pem [SIGN_HASH=sha256]
#                        sign both .ko with the kernel's sign-file (KDIR)
#   make patches         regenerate patches/, the in-tree patch series
#   make check-package   scripts/ci-packaging.sh (root; installs packages)
#
# See docs/install.md and docs/secure-boot.md.

ifndef RTSP_PACKAGE_MK
RTSP_PACKAGE_MK := 1

PKG_NAME := rtsp-conntrack
PKG_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf 2>/dev/null)
PKG_TOOLS := rtsp-attach rtsp-conntrack-setup rtsp-conntrack-status
PKG_DEB := $(PKG_NAME)-dkms_$(PKG_VERSION)_all.deb
PKG_DEB_DIR := build/deb
# What DKMS and the .deb ship: the module sources only.
PKG_SOURCES = Makefile Kbuild dkms.conf \
	$(filter-out %.mod.c,$(wildcard *.c)) $(wildcard *.h)

KVER ?= $(shell uname -r)
PREFIX ?= /usr/local
DESTDIR ?=

KEY ?=
CERT ?=
SIGN_HASH ?= sha256
SIGN_FILE ?= $(KDIR)/scripts/sign-file
PKG_KOS := nf_conntrack_rtsp.ko nf_nat_rtsp.ko

.PHONY: install uninstall install-tools uninstall-tools deb sign patches \
	check-package

install:
	scripts/dkms-install $(foreach k,$(KVER),-k $(k))
	$(MAKE) --no-print-directory install-tools

uninstall:
	scripts/dkms-install --remove
	$(MAKE) --no-print-directory uninstall-tools

install-tools:
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/$(PKG_NAME) \
		$(DESTDIR)$(PREFIX)/share/doc/$(PKG_NAME)
	install -m 755 $(addprefix scripts/,$(PKG_TOOLS)) $(DESTDIR)$(PREFIX)/sbin/
	install -m 644 scripts/rtsp-helper.nft $(DESTDIR)$(PREFIX)/share/$(PKG_NAME)/
	install -m 644 docs/install.md docs/secure-boot.md \
		$(DESTDIR)$(PREFIX)/share/doc/$(PKG_NAME)/

uninstall-tools:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/sbin/,$(PKG_TOOLS))
	rm -rf $(DESTDIR)$(PREFIX)/share/$(PKG_NAME) \
		$(DESTDIR)$(PREFIX)/share/doc/$(PKG_NAME)

# The package is built from a copy holding only what it ships, so that
# build products and the git tree stay out of it.
deb:
	@v=$$(dpkg-parsechangelog -S Version -l debian/changelog) && \
	test "$$v" = "$(PKG_VERSION)" || { echo "debian/changelog is at \
	$$v but dkms.conf at $(PKG_VERSION): add a changelog entry \
	(dch -v $(PKG_VERSION))" >&2; exit 1; }
	rm -rf $(PKG_DEB_DIR)
	mkdir -p $(PKG_DEB_DIR)/src/scripts $(PKG_DEB_DIR)/src/docs
	cp -a $(PKG_SOURCES) README.md debian $(PKG_DEB_DIR)/src/
	cp -a $(addprefix scripts/,$(PKG_TOOLS) rtsp-helper.nft) \
		$(PKG_DEB_DIR)/src/scripts/
	cp -a docs/install.md docs/secure-boot.md $(PKG_DEB_DIR)/src/docs/
	cd $(PKG_DEB_DIR)/src && dpkg-buildpackage -A -us -uc
	cp $(PKG_DEB_DIR)/$(PKG_DEB) .
	@echo "built $(PKG_DEB)"

# Rebuilding the .ko from its objects first makes signing idempotent:
# sign-file would append a second signature to a signed module.
sign:
	@test -n "$(KEY)" -a -n "$(CERT)" || { echo "usage: make sign \
	KEY=signing_key.pem CERT=signing_cert.(pem|der) [KDIR=...] \
	[SIGN_HASH=sha256]" >&2; exit 2; }
	@test -x "$(SIGN_FILE)" || { echo "$(SIGN_FILE) not found: install \
	the kernel headers or pass KDIR= or SIGN_FILE=" >&2; exit 1; }
	rm -f $(PKG_KOS)
	$(MAKE) modules
	$(foreach ko,$(PKG_KOS),$(SIGN_FILE) $(SIGN_HASH) $(KEY) $(CERT) $(ko) &&) true
	@for ko in $(PKG_KOS); do \
		echo "$$ko: signer '$$(modinfo -F signer $$ko)'," \
			"$$(modinfo -F sig_hashalgo $$ko)"; \
	done

patches:
	scripts/mkpatch

check-package:
	scripts/ci-packaging.sh

endif
