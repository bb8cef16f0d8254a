# SPDX-License-Identifier: GPL-2.0
#
#   make                 build eventfd_max.ko against the cached test kernel (built on first use)
#   make KDIR=/lib/modules/$(uname -r)/build
#                        build against any Rust-enabled kernel: a build tree or a headers package;
#                        its compiler, rustc and bindgen are read from it (scripts/kbuild-args.sh)
#   make clippy          the kernel's CLIPPY=1 build of the module
#   make fmt-check       rustfmt --check with the kernel's rustfmt settings
#   make rust-analyzer   rust-project.json for editors (Kbuild's target for external modules)
#   make programs        the static C test and benchmark programs (64- and 32-bit)
#   make install         the module (modules_install under INSTALL_MOD_PATH), <linux/eventfd_max.h>
#                        and <eventfd_max.h> under INSTALL_HDR_PATH/include, the man pages
#                        eventfd_max(3) and (4) under MANDIR; PREFIX (default /usr/local) sets both
#   make uninstall       removes what `make install` installed (same variables; KERNELRELEASE
#                        instead of KDIR also names the kernel)
#   make headers_install only the two headers
#   make dkms-install    registers this source with DKMS and installs the module for KERNELRELEASE
#                        (default: KDIR's, else the running kernel); DKMS_FLAGS passes options such
#                        as --dkmstree
#   make dkms-uninstall  dkms remove, for every kernel
#   make kselftest-install
#                        the selftests built by the kernel's kselftest framework, installed with
#                        run_kselftest.sh into KSFT_INSTALL_PATH (default out/kselftest)
#   make run             the main job: build everything, boot the guest, demo + benchmark tables
#   make test            the whole test suite (host tests, guest tests on the debug kernel)
#   make opcost KO="a.ko b.ko"
#                        deterministic per-op and wake-up costs of module builds, side by side

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
PROFILE ?= release
OUT ?= $(TOP)/out
PREFIX ?= /usr/local
INSTALL_HDR_PATH ?= $(PREFIX)
MANDIR ?= $(PREFIX)/share/man
INSTALL_MOD_DIR ?= updates
KSFT_INSTALL_PATH ?= $(OUT)/kselftest
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' $(TOP)/dkms.conf)

# Goals that build against a kernel need one, and its toolchain; the others choose their own.
KBUILD_GOALS := all modules clippy fmt-check rust-analyzer modules_install install clean
ifneq ($(filter $(KBUILD_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(origin KDIR),undefined)
KERNEL_NAME := $(PROFILE)
KDIR := $(shell $(TOP)/scripts/kernel.sh $(PROFILE))
ifneq ($(.SHELLSTATUS),0)
$(error scripts/kernel.sh $(PROFILE) failed: see its messages above)
endif
endif
# The toolchain the kernel was built with, or the one line saying why this tree cannot build the
# module.  LLVM and RUSTC given to make are checked instead of searched for; BINDGEN is tried first.
KBUILD_ARGS := $(shell $(foreach v,LLVM RUSTC BINDGEN,$(if $(filter command line environment,$(origin $(v))),$(v)='$($(v))')) \
	$(TOP)/scripts/kbuild-args.sh $(KDIR))
ifneq ($(.SHELLSTATUS),0)
$(error $(KBUILD_ARGS))
endif
endif
ifdef KDIR
KERNELRELEASE ?= $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
else
KERNELRELEASE ?= $(shell uname -r)
endif

KSRC = $(shell readlink -f $(KDIR)/source 2>/dev/null || echo $(KDIR))
# The programs need the kselftest harness from a kernel source tree, never a kernel build.
ifeq ($(origin KDIR),undefined)
KSFT = $(shell $(TOP)/scripts/kernel.sh source)/tools/testing/selftests
else
KSFT = $(KSRC)/tools/testing/selftests
endif
RUST_SRCS := $(wildcard $(TOP)/*.rs $(TOP)/scripts/runner-tests/*.rs)
# Kbuild writes its objects outside the source tree, one directory per kernel profile.
KERNEL_NAME ?= $(subst /,_,$(abspath $(KDIR)))
MO ?= $(OUT)/module/$(KERNEL_NAME)
override MO := $(abspath $(MO))
KBUILD = $(MAKE) -C $(KDIR) M=$(TOP) MO=$(MO) $(KBUILD_ARGS)

.PHONY: all modules clean clippy fmt-check rust-analyzer programs headers_install man_install \
	modules_install install uninstall dkms-install dkms-uninstall kselftest-install run test opcost

all: modules

modules:
	@mkdir -p $(MO)
	$(KBUILD) modules
	@echo "module: $(MO)/eventfd_max.ko"

clippy:
	@mkdir -p $(MO)
	$(KBUILD) clean >/dev/null
	$(KBUILD) CLIPPY=1 modules

fmt-check:
	rustfmt --check --edition 2021 --config-path $(KSRC)/.rustfmt.toml $(RUST_SRCS)

# Kbuild writes rust-project.json (the kernel's crates and the module's) into $(MO); editors look
# for it at the top of the workspace.
rust-analyzer:
	@mkdir -p $(MO)
	$(KBUILD) rust-analyzer
	mv $(MO)/rust-project.json $(TOP)/rust-project.json

# Static programs for the guest (or bare metal): 64-bit in $(OUT)/bin, 32-bit in $(OUT)/bin32.
programs:
	$(MAKE) -C $(TOP)/selftests KSFT=$(KSFT) O=$(OUT)/bin
	$(MAKE) -C $(TOP)/selftests KSFT=$(KSFT) O=$(OUT)/bin32 M32=1
	$(MAKE) -C $(TOP)/selftests/reliability KSFT=$(KSFT) O=$(OUT)/bin
	$(MAKE) -C $(TOP)/selftests/reliability KSFT=$(KSFT) O=$(OUT)/bin32 M32=1
	$(MAKE) -C $(TOP)/bench O=$(OUT)/bin
	$(MAKE) -C $(TOP)/examples/c O=$(OUT)/bin
	$(MAKE) -C $(TOP)/examples/c O=$(OUT)/bin32 M32=1
	$(MAKE) -C $(TOP)/userspace/eventfd-max O=$(OUT)/bin

kselftest-install:
	$(TOP)/scripts/kselftest-install.sh $(KSFT) $(KSFT_INSTALL_PATH)

UAPI_HEADER := $(INSTALL_HDR_PATH)/include/linux/eventfd_max.h
HELPER_HEADER := $(INSTALL_HDR_PATH)/include/eventfd_max.h
MAN3 := $(MANDIR)/man3/eventfd_max.3
MAN4 := $(MANDIR)/man4/eventfd_max.4
MODULE_DIR = $(INSTALL_MOD_PATH)/lib/modules/$(KERNELRELEASE)

headers_install:
	install -D -m 0644 $(TOP)/uapi/linux/eventfd_max.h $(UAPI_HEADER)
	install -D -m 0644 $(TOP)/include/eventfd_max.h $(HELPER_HEADER)

man_install:
	install -D -m 0644 $(TOP)/man/eventfd_max.3 $(MAN3)
	install -D -m 0644 $(TOP)/man/eventfd_max.4 $(MAN4)

DEPMOD = depmod -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KERNELRELEASE)
# Kbuild's modules_install: $(MODULE_DIR)/$(INSTALL_MOD_DIR)/eventfd_max.ko.  Kbuild runs depmod
# only when the tree has System.map, which headers packages leave out: run it here, so modprobe
# finds the module.
modules_install: modules
	$(KBUILD) INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install
	if command -v depmod >/dev/null; then $(DEPMOD); else echo "depmod not found: run '$(DEPMOD)'"; fi

install: modules_install headers_install man_install

uninstall:
	rm -f $(MODULE_DIR)/$(INSTALL_MOD_DIR)/eventfd_max.ko $(UAPI_HEADER) $(HELPER_HEADER) $(MAN3) $(MAN4)
	rmdir $(MODULE_DIR)/$(INSTALL_MOD_DIR) 2>/dev/null || true
	if [ -f $(MODULE_DIR)/modules.dep ] && command -v depmod >/dev/null; then $(DEPMOD); fi

# DKMS builds from a copy of what the module build needs; it runs `make modules KDIR=...` (dkms.conf).
DKMS_SRC := $(OUT)/dkms-src/eventfd_max-$(DKMS_VERSION)
dkms-install:
	rm -rf $(DKMS_SRC) && mkdir -p $(DKMS_SRC)/scripts
	cp $(TOP)/Makefile $(TOP)/Kbuild $(TOP)/dkms.conf $(wildcard $(TOP)/*.rs) $(DKMS_SRC)/
	cp $(TOP)/scripts/kbuild-args.sh $(TOP)/scripts/extmod-rust.files $(DKMS_SRC)/scripts/
	if [ -n "$$(dkms status $(DKMS_FLAGS) -m eventfd_max -v $(DKMS_VERSION))" ]; then \
		dkms remove $(DKMS_FLAGS) -m eventfd_max -v $(DKMS_VERSION) --all; fi
	dkms add $(DKMS_FLAGS) $(DKMS_SRC)
	dkms install $(DKMS_FLAGS) -m eventfd_max -v $(DKMS_VERSION) -k $(KERNELRELEASE)

dkms-uninstall:
	dkms remove $(DKMS_FLAGS) -m eventfd_max -v $(DKMS_VERSION) --all

run:
	$(TOP)/scripts/run.sh

test:
	$(TOP)/scripts/test.sh

opcost:
	$(TOP)/scripts/opcost.sh $(KO)

clean:
	-$(KBUILD) clean
	rm -rf $(OUT)
