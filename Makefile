# SPDX-License-Identifier: GPL-2.0
#
#   make                 build eventfd_max.ko against the cached test kernel (built on first use)
#   make KDIR=/lib/modules/$(uname -r)/build LLVM=1
#                        build against any Rust-enabled kernel instead (bare metal)
#   make clippy          the kernel's CLIPPY=1 build of the module
#   make fmt-check       rustfmt --check with the kernel's rustfmt settings
#   make programs        the static C test and benchmark programs (64- and 32-bit)
#   make run             the main job: build everything, boot the guest, demo + benchmark tables
#   make test            the whole test suite (host tests, guest tests on the debug kernel)
#   make opcost KO="a.ko b.ko"
#                        deterministic per-op and wake-up costs of module builds, side by side
#   make headers_install install uapi/linux/eventfd_max.h under $(INSTALL_HDR_PATH)

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
PROFILE ?= release
OUT ?= $(TOP)/out
INSTALL_HDR_PATH ?= /usr/local

# Only goals that build against a kernel need one; `make test` and `make run` choose their own.
ifneq ($(filter-out run test headers_install programs opcost,$(or $(MAKECMDGOALS),all)),)
ifeq ($(origin KDIR),undefined)
KERNEL_NAME := $(PROFILE)
KDIR := $(shell $(TOP)/scripts/kernel.sh $(PROFILE) || echo KERNEL-BUILD-FAILED)
endif
# The cached kernel records the toolchain arguments it was built with.
-include $(KDIR)/eventfd_max.mk
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
KBUILD = $(MAKE) -C $(KDIR) M=$(TOP) MO=$(MO) $(KBUILD_ARGS)

.PHONY: all modules clean clippy fmt-check programs headers_install run test opcost

all: modules

modules:
	@test -d "$(KDIR)" || { echo "no kernel build directory: $(KDIR)" >&2; exit 1; }
	@mkdir -p $(MO)
	$(KBUILD) modules
	@echo "module: $(MO)/eventfd_max.ko"

clippy:
	@mkdir -p $(MO)
	$(KBUILD) clean >/dev/null
	$(KBUILD) CLIPPY=1 modules

fmt-check:
	rustfmt --check --edition 2021 --config-path $(KSRC)/.rustfmt.toml $(RUST_SRCS)

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

headers_install:
	install -D -m 0644 $(TOP)/uapi/linux/eventfd_max.h $(INSTALL_HDR_PATH)/include/linux/eventfd_max.h

run:
	$(TOP)/scripts/run.sh

test:
	$(TOP)/scripts/test.sh

opcost:
	$(TOP)/scripts/opcost.sh $(KO)

clean:
	-$(KBUILD) clean
	rm -rf $(OUT)
