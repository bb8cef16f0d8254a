#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Makes the minimal tree an external Rust module builds against, as a distribution's headers
# package would ship it for a Rust-enabled kernel:
#   scripts/extmod-tree.sh KDIR DEST
# KDIR is a built kernel (its build directory).  DEST, which must not exist yet, gets:
#  - what the kernel's own packaging puts in a headers package (make bindeb-pkg, rpm-pkg and
#    pacman-pkg run scripts/package/install-extmod-build through `make run-command`);
#  - .config, which that script leaves out and DKMS's BUILD_EXCLUSIVE_CONFIG check reads;
#  - the Rust files listed in scripts/extmod-rust.files, which it leaves out too.
# The module then builds with `make KDIR=DEST` and nothing else of the kernel.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kdir=$(cd "${1:?usage: extmod-tree.sh KDIR DEST}" && pwd)
dest=$(realpath -m "${2:?usage: extmod-tree.sh KDIR DEST}")
[ ! -e "$dest" ] || { echo "extmod-tree.sh: $dest exists" >&2; exit 2; }

# The same toolchain as the kernel's build, so the packaging script sees the kernel's CC and HOSTCC.
args=$("$here/kbuild-args.sh" "$kdir") || { echo "extmod-tree.sh: $args" >&2; exit 1; }
# shellcheck disable=SC2016,SC2086 # $(srctree) is make's; the arguments are words
make -s -C "$kdir" $args run-command \
    KBUILD_RUN_COMMAND='$(srctree)/scripts/package/install-extmod-build '"$dest"
cp "$kdir/.config" "$dest/.config"
cd "$kdir"
# shellcheck disable=SC2046 # the list holds globs
cp -a --parents $(sed -e '/^#/d' -e '/^$/d' "$here/extmod-rust.files") "$dest/"
