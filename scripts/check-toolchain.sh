#!/usr/bin/env bash
# Verifies the pinned toolchain is present; prints the versions that go into the kernel cache key.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${EVENTFD_MAX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eventfd_max}
die() { echo "check-toolchain: $*; run scripts/provision.sh" >&2; exit 1; }

[ -x "$RUSTC" ] || die "$RUSTC missing (package rustc-web)"
rv=$("$RUSTC" --version | awk '{print $2}')
[ "$(printf '%s\n%s\n' "$RUSTC_MIN" "$rv" | sort -V | head -1)" = "$RUSTC_MIN" ] || die "rustc $rv < $RUSTC_MIN"
[ -d "$("$RUSTC" --print sysroot)/lib/rustlib/src/rust/library/core" ] || die "rust core source missing (package rust-web-src)"
command -v clang-"$LLVM_VERSION" >/dev/null || die "clang-$LLVM_VERSION missing"
command -v ld.lld-"$LLVM_VERSION" >/dev/null || die "lld-$LLVM_VERSION missing"
bindgen=$cache/bindgen-$BINDGEN_VERSION/bin/bindgen
[ -x "$bindgen" ] || die "bindgen $BINDGEN_VERSION missing at $bindgen"
tarball=/usr/src/$KERNEL_SOURCE_PKG.tar.xz
[ -f "$tarball" ] || die "$tarball missing (package $KERNEL_SOURCE_PKG)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing"
[ -x /bin/busybox ] || die "busybox missing (package busybox-static)"
echo "rustc=$rv clang=$(clang-"$LLVM_VERSION" --version | sed -n "s/.*clang version \([^ ]*\).*/\1/p") bindgen=$BINDGEN_VERSION kernel=$(dpkg-query -W -f='${Version}' "$KERNEL_SOURCE_PKG")"
