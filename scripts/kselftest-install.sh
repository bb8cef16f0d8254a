#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the selftests the way a kernel tree's kselftest framework does and installs them with
# run_kselftest.sh (`make kselftest-install`):
#   scripts/kselftest-install.sh KSFT DEST
# KSFT is a kernel source's tools/testing/selftests.  Its framework (Makefile, lib.mk, the kselftest
# headers and runner, scripts/subarch.include) is copied into a scratch tree, so neither the kernel
# source nor this repository is built in; selftests/ goes in as tools/testing/selftests/eventfd_max/
# with the two headers under its include/.  DEST is replaced.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ksft=$(cd "${1:?usage: kselftest-install.sh KSFT DEST}" && pwd)
dest=$(realpath -m "${2:?usage: kselftest-install.sh KSFT DEST}")

scratch=$(mktemp -d "${TMPDIR:-/tmp}/eventfd_max-kselftest.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# With ccache (make test uses it), paths relative to the scratch tree: the next install of the same
# sources then reuses the objects.
# (The physical path, as lib.mk's include paths are; ccache wants it absolute.)
CCACHE_BASEDIR=$(cd -P "$scratch" && pwd)
export CCACHE_BASEDIR
tree=$scratch/tools/testing/selftests
mkdir -p "$tree/eventfd_max/include/linux" "$scratch/scripts"
cp "$ksft"/{Makefile,lib.mk,kselftest.h,kselftest_harness.h,run_kselftest.sh} "$tree/"
cp -r "$ksft/kselftest" "$tree/"
cp "$ksft/../../../scripts/subarch.include" "$scratch/scripts/"
cp "$top"/selftests/{Makefile,config,settings,*.c,*.h} "$tree/eventfd_max/"
cp "$top/uapi/linux/eventfd_max.h" "$tree/eventfd_max/include/linux/"
cp "$top/include/eventfd_max.h" "$tree/eventfd_max/include/"
rm -rf "$dest"
make -s -C "$tree" TARGETS=eventfd_max KSFT_INSTALL_PATH="$dest" install
