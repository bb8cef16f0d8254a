# SPDX-License-Identifier: GPL-2.0
# Shared by the Makefiles of the static test and benchmark programs, which set TOP first:
#   make [O=dir] [M32=1]     into $(O) (default $(TOP)/out/bin); M32=1 builds with -m32
#                            (give it an O of its own); objects go to $(O)-obj
# Static, so the same binaries run in the busybox guest and on any bare-metal machine.

O ?= $(TOP)/out/bin
# Objects beside $(O), not in it: the guest and bare metal get $(O) as it is.
OBJ ?= $(patsubst %/,%,$(O))-obj
ifeq ($(origin CC),default)
CC := gcc
endif
CFLAGS := -static -O2 -g -Wall -Wextra -Werror -std=gnu11 -pthread -I$(TOP)/uapi -I$(TOP)/include
# The uapi header and the userspace helper header that includes it.
EFDM_HDRS := $(TOP)/uapi/linux/eventfd_max.h $(TOP)/include/eventfd_max.h
# The -m32 builds exercise the compat ioctls.  Running them needs CONFIG_COMPAT_32BIT_TIME: 32-bit
# glibc makes its futex and timer calls through the time32 syscalls.
ifeq ($(M32),1)
CFLAGS += -m32
endif

# The kselftest harness comes from the kernel source; only its extraction is needed, no build.
KSFT ?= $(shell $(TOP)/scripts/kernel.sh source)/tools/testing/selftests
KSFT_HDRS = $(KSFT)/kselftest_harness.h $(KSFT)/kselftest.h

$(O) $(OBJ):
	mkdir -p $@

# A program linked from its object, compiled apart so that ccache (make test and make run use it)
# can keep the objects.
$(O)/%: $(OBJ)/%.o | $(O)
	$(CC) $(CFLAGS) -o $@ $<

.DEFAULT_GOAL := all
.PHONY: all clean
