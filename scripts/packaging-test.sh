#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The ways the module and its headers are installed, tested on the host; the guest suite then loads
# the modules built here (guest/test.sh).
#   scripts/packaging-test.sh KDIR
# KDIR is the debug test kernel's build directory.  Prints TAP and "N passed, N failed", and the
# seconds each part took.  Leaves in $OUT (default out/):
#   extmod/headers-tree/eventfd_max.ko   built against a headers-package tree alone
#   extmod/dkms/eventfd_max.ko           built and installed by DKMS from that tree
#   kselftest/                           `make kselftest-install`
# Outside the repository it touches only /lib/modules/<test kernel release>, which must not exist
# beforehand (or must be a leftover of this script), and removes it again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=versions.env
. "$here/versions.env"
kdir=$(cd "${1:?usage: packaging-test.sh KDIR}" && pwd)
out=${OUT:-$top/out}
src=$("$here/kernel.sh" source 2>/dev/null)
release=$(cat "$kdir/include/config/kernel.release")
scratch=$(mktemp -d "${TMPDIR:-/tmp}/eventfd_max-packaging.XXXXXX")
moddir=/lib/modules/$release
cleanup() {
    rm -rf "$scratch"
    if [ -f "$moddir/.eventfd_max-packaging-test" ]; then rm -rf "$moddir"; fi
}
trap cleanup EXIT

passed=0 failed=0
# pt_check DESCRIPTION COMMAND...: one TAP result; a failing command's output is shown.
pt_check() {
    local desc=$1 log=$scratch/check.$BASHPID.log
    shift
    if "$@" > "$log" 2>&1; then
        echo "ok - $desc"; passed=$((passed + 1))
    else
        sed 's/^/# /' "$log" | tail -40
        echo "not ok - $desc"; failed=$((failed + 1))
    fi
}
pt_part_start=$SECONDS
# pt_part NAME: starts a part; the previous one's duration is printed.
pt_part() {
    [ -z "${pt_part_name:-}" ] || echo "# ---- $pt_part_name: $((SECONDS - pt_part_start)) s"
    pt_part_name=$1 pt_part_start=$SECONDS
    [ -z "$1" ] || echo "# ---- $1"
}
mk() { make -s -C "$top" "$@"; }

# ---- DKMS (Debian's package): the headers tree as /lib/modules/<release>/build, its own trees in
# scratch directories; `make dkms-install` adds, builds and installs, `make dkms-uninstall` removes.
pt_dkms() {
    pt_part "DKMS"
    if [ -e "$moddir" ] && [ ! -f "$moddir/.eventfd_max-packaging-test" ]; then
        echo "not ok - $moddir is free for the test kernel (it exists: not touching it)"; failed=$((failed + 1))
    else
        rm -rf "$moddir" && mkdir -p "$moddir" && touch "$moddir/.eventfd_max-packaging-test"
        ln -s "$tree" "$moddir/build"
        mkdir -p "$scratch/dkms" "$scratch/dkms-src"
        local ko=$moddir/updates/dkms/eventfd_max.ko
        local dkms=(KERNELRELEASE="$release" DKMS_FLAGS="--dkmstree $scratch/dkms --sourcetree $scratch/dkms-src")
        pt_check "make dkms-install: dkms add, build and install for $release" mk dkms-install "${dkms[@]}"
        pt_check "DKMS installed $ko, built for $release" \
            sh -c "modinfo -F vermagic '$ko' | grep -q '^$release '"
        mkdir -p "$out/extmod/dkms"
        cp "$ko" "$out/extmod/dkms/" 2>/dev/null || rm -f "$out/extmod/dkms/eventfd_max.ko"
        pt_check "make dkms-uninstall" mk dkms-uninstall "${dkms[@]}"
        pt_check "dkms remove took the module out of $moddir" test ! -e "$ko"
    fi
}

# ---- kselftest: the selftests built and installed by the kernel's framework.
pt_kselftest() {
    pt_part "kselftest-install"
    pt_check "make kselftest-install" mk kselftest-install KSFT_INSTALL_PATH="$out/kselftest"
    pt_check "kselftest-list.txt lists both selftests" sh -c "grep -qx eventfd_max:eventfd_max_test '$out/kselftest/kselftest-list.txt' &&
        grep -qx eventfd_max:differential_test '$out/kselftest/kselftest-list.txt'"
}

# ---- rust-analyzer: the module's crate, with the kernel's, in rust-project.json.
pt_rust_analyzer() {
    pt_part "rust-analyzer"
    pt_check "make rust-analyzer" mk rust-analyzer KDIR="$kdir" MO="$scratch/rust-analyzer"
    pt_check "rust-project.json has the eventfd_max crate" python3 -c "import json, sys
sys.exit(not any(c['root_module'] == '$top/eventfd_max.rs'
                 for c in json.load(open('$top/rust-project.json'))['crates']))"
}

# ---- The uapi header passes what usr/include/Makefile checks in every exported header (the
# kernel's headers_install.sh, then C90 and C++98 with no libc, included twice, and
# headers_check.pl) with the compiler the kernel was built with, against the system's exported
# kernel headers (linux-libc-dev).
pt_part "uapi header"
inc=$scratch/uapi/usr/include
mkdir -p "$inc/linux" "$scratch/uapi/scripts"
for d in linux asm-generic; do ln -s "/usr/include/$d" "$scratch/uapi/$d"; done
ln -s "/usr/include/$(gcc -dumpmachine)/asm" "$scratch/uapi/asm"
gcc -O2 -o "$scratch/uapi/scripts/unifdef" "$src/scripts/unifdef.c"
hdrtest() {
    (cd "$scratch/uapi" && sh "$src/scripts/headers_install.sh" "$top/uapi/linux/eventfd_max.h" \
        "$inc/linux/eventfd_max.h") &&
    "clang-$LLVM_VERSION" -std=c90 -Werror=implicit-function-declaration -Wall -Wmissing-prototypes -Wstrict-prototypes \
        -fsyntax-only -Werror -nostdinc -I "$inc" -I "$scratch/uapi" -x c /dev/null \
        -include "$inc/linux/eventfd_max.h" -include "$inc/linux/eventfd_max.h" &&
    "clang-$LLVM_VERSION" -std=c++98 -Wall -fsyntax-only -Werror -nostdinc -I "$inc" -I "$scratch/uapi" -x c++ /dev/null \
        -include "$inc/linux/eventfd_max.h" &&
    perl "$src/usr/include/headers_check.pl" "$scratch/uapi" "$inc/linux/eventfd_max.h"
}
pt_check "uapi/linux/eventfd_max.h passes usr/include/Makefile's header checks" hdrtest
# <linux/eventfd.h> is newer than the system's exported headers: the kernel's, exported the same way.
(cd "$scratch/uapi" && sh "$src/scripts/headers_install.sh" "$src/include/uapi/linux/eventfd.h" \
    "$inc/linux/eventfd.h")
# A libc include is what those checks exist to refuse: they must refuse one.
sed 's|#include <linux/types.h>|&\n#include <stdint.h>|' "$top/uapi/linux/eventfd_max.h" > "$scratch/libc.h"
pt_check "the header checks refuse a uapi header that includes a libc header" \
    sh -c "! clang-$LLVM_VERSION -fsyntax-only -nostdinc -I '$inc' -I '$scratch/uapi' -x c /dev/null -include '$scratch/libc.h'"

# ---- A headers-package tree, and the module built against it alone.
pt_part "headers-package tree"
tree=$scratch/headers
pt_check "scripts/extmod-tree.sh makes a headers-package tree" "$here/extmod-tree.sh" "$kdir" "$tree"

# DKMS and kselftest-install need nothing of what follows: they run meanwhile, as a second job,
# their output shown at the end.
pt_concurrent() {
    pt_part_name=
    pt_dkms
    pt_kselftest
    pt_part ""
}
pt_concurrent > "$scratch/concurrent.out" 2>&1 &
concurrent=$!

pt_check "the module builds against the headers tree alone" mk modules KDIR="$tree" MO="$scratch/headers-build"
# Every file the build read is named in its dependency files: none may come from the kernel's
# source or build directory.
pt_check "the build used no file of the kernel's source or build directory" \
    sh -c "! grep -lE '$kdir|$src' '$scratch/headers-build'/.*.cmd"
# A module left from an earlier run must not stand in for one this run failed to build.
mkdir -p "$out/extmod/headers-tree"
cp "$scratch/headers-build/eventfd_max.ko" "$out/extmod/headers-tree/" 2>/dev/null ||
    rm -f "$out/extmod/headers-tree/eventfd_max.ko"

# ---- make install / uninstall against the headers tree, into a scratch root; the installed
# headers are used from there.
pt_part "make install, uninstall"
root=$scratch/root
inst=(KDIR="$tree" MO="$scratch/headers-build" INSTALL_MOD_PATH="$root" PREFIX="$root/usr/local")
installed=("lib/modules/$release/updates/eventfd_max.ko" usr/local/include/linux/eventfd_max.h
    usr/local/include/eventfd_max.h usr/local/share/man/man3/eventfd_max.3
    usr/local/share/man/man4/eventfd_max.4)
pt_installed() { for f in "${installed[@]}"; do [ -f "$root/$f" ] || { echo "missing $f"; return 1; }; done; }
pt_check "make install: module, both headers, both man pages" mk install "${inst[@]}"
pt_check "make install: every file in place" pt_installed
pt_check "make install ran depmod: modules.dep lists the module" \
    grep -q '^updates/eventfd_max.ko:' "$root/lib/modules/$release/modules.dep"
printf '#include <linux/eventfd.h>\n#include <linux/eventfd_max.h>\nint main(void) { return EFD_SEMAPHORE + (int)sizeof(struct eventfd_max_config) + (int)EFD_IOC_CONFIGURE; }\n' \
    > "$scratch/kernel-eventfd.c"
printf '#include <sys/eventfd.h>\n#include <linux/eventfd_max.h>\n#include <eventfd_max.h>\nint main(void) { return eventfd_max(0, EFD_SEMAPHORE, 2) < 0; }\n' \
    > "$scratch/libc-eventfd.c"
pt_check "installed <linux/eventfd_max.h> compiles beside <linux/eventfd.h>" \
    gcc -Wall -Wextra -Werror -I "$root/usr/local/include" -I "$inc" -o "$scratch/a" "$scratch/kernel-eventfd.c"
pt_check "installed <eventfd_max.h> and <linux/eventfd_max.h> compile beside <sys/eventfd.h>" \
    gcc -Wall -Wextra -Werror -I "$root/usr/local/include" -o "$scratch/b" "$scratch/libc-eventfd.c"
pt_check "man pages eventfd_max(3) and (4) format without warnings" \
    sh -c "! groff -man -ww -z '$root/usr/local/share/man/man3/eventfd_max.3' \
        '$root/usr/local/share/man/man4/eventfd_max.4' 2>&1 | grep ."
pt_check "make uninstall" mk uninstall "${inst[@]}"
pt_check "make uninstall leaves no file of ours, nor a modules.dep line" sh -c "! find '$root' -name 'eventfd_max*' | grep . &&
    ! grep eventfd_max '$root/lib/modules/$release/modules.dep'"

# ---- The toolchain check refuses, in one line naming the cause, trees it cannot build against:
# the files it reads from the headers tree, each time with one thing wrong.
pt_part "toolchain detection"
# pt_make_refuses PATTERN KDIR: `make modules` stops at once with one line matching PATTERN.
pt_make_refuses() {
    if make -s -C "$top" modules KDIR="$2" > "$scratch/refused" 2>&1; then echo "make succeeded"; return 1; fi
    cat "$scratch/refused"
    [ "$(wc -l < "$scratch/refused")" = 1 ] && grep -q -- "$1" "$scratch/refused"
}
# pt_bad_tree EDIT...: $scratch/bad, with what the check reads from the headers tree, changed by
# EDIT (a command run in it).
pt_bad_tree() {
    local bad=$scratch/bad f
    rm -rf "$bad" && mkdir -p "$bad/include/config"
    cp "$tree"/include/config/{auto.conf,kernel.release} "$bad/include/config/"
    cp "$tree/Module.symvers" "$bad/"
    while read -r f; do
        mkdir -p "$bad/$(dirname "$f")" && ln -s "$tree/$f" "$bad/$f"
    done < <(sed -e '/^#/d' -e '/^$/d' "$here/extmod-rust.files")
    (cd "$bad" && "$@")
}
# pt_refused DESCRIPTION PATTERN EDIT...: make refuses a tree broken by EDIT.
pt_refused() {
    local desc=$1 pattern=$2
    shift 2
    pt_bad_tree "$@"
    pt_check "make refuses $desc" pt_make_refuses "$pattern" "$scratch/bad"
    sed 's/^/#   /' "$scratch/refused"
}
# And reads what it must use: the test kernel's LLVM with its suffix, and the rustc whose version
# text the tree records even when another one comes first on PATH (rustup's, here); for a GCC kernel
# the compiler its version text names (Debian's record the versioned one, e.g. gcc-12).
pt_check "the test kernel's toolchain: LLVM=-$LLVM_VERSION, $RUSTC" sh -c "'$here/kbuild-args.sh' '$tree' |
    grep -q '^LLVM=-$LLVM_VERSION CC=clang-$LLVM_VERSION LD=ld.lld-$LLVM_VERSION RUSTC=$RUSTC '"
gcc_major=$(gcc -dumpversion | cut -d. -f1)
pt_gcc_kernel() {
    sed -i -e '/^CONFIG_CC_IS_CLANG=/d' -e '/^CONFIG_LD_IS_LLD=/d' \
        -e "s/^CONFIG_CC_VERSION_TEXT=.*/CONFIG_CC_VERSION_TEXT=\"gcc-$gcc_major (Debian) $gcc_major.0\"/" \
        -e "s/^CONFIG_GCC_VERSION=.*/CONFIG_GCC_VERSION=${gcc_major}0000/" include/config/auto.conf
}
pt_bad_tree pt_gcc_kernel
pt_check "a GCC kernel's compiler: CC=gcc-$gcc_major, no LLVM" sh -c "'$here/kbuild-args.sh' '$scratch/bad' |
    grep -q '^CC=gcc-$gcc_major RUSTC='"
pt_refused "a kernel without CONFIG_RUST" "without CONFIG_RUST" sed -i '/^CONFIG_RUST=/d' include/config/auto.conf
pt_refused "a PREEMPT_RT kernel" "PREEMPT_RT" sh -c 'echo CONFIG_PREEMPT_RT=y >> include/config/auto.conf'
pt_refused "a kernel without exported _raw_spin_unlock_irq" "does not export _raw_spin_unlock_irq" \
    sed -i '/\t_raw_spin_unlock_irq\t/d' Module.symvers
pt_refused "a tree without the Rust metadata" "no Rust metadata" rm rust/libkernel.rmeta
pt_refused "a kernel built by another rustc" "rustc 1.0.0" \
    sed -i 's/^CONFIG_RUSTC_VERSION_TEXT=.*/CONFIG_RUSTC_VERSION_TEXT="rustc 1.0.0"/' include/config/auto.conf
pt_refused "a kernel built by a clang that is not installed" "clang 99" \
    sed -i 's/^CONFIG_CLANG_VERSION=.*/CONFIG_CLANG_VERSION=990000/' include/config/auto.conf

pt_rust_analyzer
pt_part ""
wait "$concurrent" || true
cat "$scratch/concurrent.out"
passed=$((passed + $(grep -c '^ok ' "$scratch/concurrent.out"))) || true
failed=$((failed + $(grep -c '^not ok ' "$scratch/concurrent.out"))) || true

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
