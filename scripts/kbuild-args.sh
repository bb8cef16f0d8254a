#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Reads from a kernel build tree (a full build, or a headers package) the toolchain the kernel was
# built with, checks that eventfd_max.ko can be built against it and prints the make arguments
# that do so, e.g. "LLVM=-19 CC=clang-19 LD=ld.lld-19 RUSTC=/usr/bin/rustc CLIPPY_DRIVER=...".
# Otherwise it prints one line naming the cause and the fix, and exits 1.
#
#   scripts/kbuild-args.sh KDIR
#
# Environment: LLVM and RUSTC, when set, are checked against the tree instead of searched for;
# BINDGEN, when set, is tried first.  The top Makefile runs this for every goal that builds against a kernel, and so does DKMS.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kdir=${1:?usage: kbuild-args.sh KDIR}

kbuild_die() { echo "eventfd_max: $*"; exit 1; }

autoconf=$kdir/include/config/auto.conf
[ -f "$autoconf" ] || kbuild_die "$kdir is not a configured kernel build tree (no include/config/auto.conf):" \
    "point KDIR at a built kernel or an installed headers package (/lib/modules/<release>/build)"
release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null || echo "in $kdir")

# kbuild_conf NAME: the value of CONFIG_NAME in the tree's configuration, without quotes.
kbuild_conf() { sed -n "s/^CONFIG_$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$autoconf"; }

[ "$(kbuild_conf RUST)" = y ] || kbuild_die "kernel $release is built without CONFIG_RUST:" \
    "build against a kernel configured with CONFIG_RUST=y"
[ "$(kbuild_conf PREEMPT_RT)" != y ] || kbuild_die "kernel $release has CONFIG_PREEMPT_RT, which eventfd_max" \
    "does not support (its counters use spinlock_t with interrupts disabled): use a kernel without PREEMPT_RT"
[ -f "$kdir/Module.symvers" ] || kbuild_die "$kdir has no Module.symvers: run 'make modules' in the kernel" \
    "build tree, or install the complete headers package"
# Inline-only without CONFIG_PREEMPTION (CONFIG_INLINE_SPIN_*), so no binding and no export then.
missing=
for sym in _raw_spin_lock_irq _raw_spin_unlock_irq _raw_spin_lock_irqsave _raw_spin_unlock_irqrestore; do
    grep -q "	$sym	" "$kdir/Module.symvers" || missing="$missing $sym"
done
[ -z "$missing" ] || kbuild_die "kernel $release does not export$missing (inlined: the kernel lacks" \
    "CONFIG_PREEMPTION or is not SMP): use a kernel with CONFIG_SMP=y and CONFIG_PREEMPTION=y"
rust_files=$(sed -e '/^#/d' -e '/^$/d' "$here/extmod-rust.files") || kbuild_die "$here/extmod-rust.files is missing"
for file in $rust_files; do
    [ -e "$kdir/$file" ] || kbuild_die "$kdir has no Rust metadata ($file): the headers package lacks" \
        "the kernel's Rust build files; add those of scripts/extmod-rust.files (README, 'On bare metal')"
done

args=()
# The C compiler (for the module's .mod.c) and the linker: the kernel's own.
if [ "$(kbuild_conf CC_IS_CLANG)" = y ]; then
    major=$(( $(kbuild_conf CLANG_VERSION) / 10000 ))
    # kbuild_llvm_tool NAME: the LLVM tool NAME as the kernel's Makefile derives it from $LLVM.
    kbuild_llvm_tool() {
        case $LLVM in
            */) echo "$LLVM$1" ;;
            -*) echo "$1$LLVM" ;;
            *) echo "$1" ;;
        esac
    }
    if [ -z "${LLVM:-}" ]; then
        for LLVM in "-$major" 1 "/usr/lib/llvm-$major/bin/"; do
            cc=$(kbuild_llvm_tool clang)
            command -v "$cc" >/dev/null && [ "$("$cc" -dumpversion | cut -d. -f1)" = "$major" ] && break
            LLVM=
        done
    fi
    [ -n "$LLVM" ] || kbuild_die "kernel $release was built with clang $major, which is not installed:" \
        "install clang-$major and lld-$major, or pass LLVM= as for the kernel build"
    cc=$(kbuild_llvm_tool clang)
    [ "$("$cc" -dumpversion 2>/dev/null | cut -d. -f1)" = "$major" ] || kbuild_die "LLVM=$LLVM gives" \
        "$cc, not the clang $major kernel $release was built with: pass the LLVM= of the kernel build"
    if [ "$(kbuild_conf LD_IS_LLD)" = y ]; then
        args+=("LLVM=$LLVM" "CC=$cc" "LD=$(kbuild_llvm_tool ld.lld)")
    else
        args+=("CC=$cc")
    fi
else
    major=$(( $(kbuild_conf GCC_VERSION) / 10000 ))
    # Debian kernels record the versioned name, e.g. "x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14) 12.2.0".
    named=$(kbuild_conf CC_VERSION_TEXT | cut -d' ' -f1)
    cc=
    for c in "$named" "gcc-$major" gcc; do
        if command -v "$c" >/dev/null && [ "$("$c" -dumpversion | cut -d. -f1)" = "$major" ]; then cc=$c; break; fi
    done
    [ -n "$cc" ] || kbuild_die "kernel $release was built with $(kbuild_conf CC_VERSION_TEXT), and no gcc $major" \
        "is installed: install gcc-$major"
    args+=("CC=$cc")
fi

# rustc: exactly the one the kernel was built with (the kernel's .rmeta files and proc-macro
# libraries load only in the compiler that wrote them).
want=$(kbuild_conf RUSTC_VERSION_TEXT)
rustc=
if [ -n "${RUSTC:-}" ]; then
    [ "$("$RUSTC" --version 2>/dev/null)" = "$want" ] || kbuild_die "RUSTC=$RUSTC is not the '$want' kernel" \
        "$release was built with: pass RUSTC= pointing to that compiler"
    rustc=$RUSTC
else
    for r in "$(command -v rustc)" /usr/bin/rustc /usr/local/bin/rustc "$HOME/.cargo/bin/rustc"; do
        if [ -x "$r" ] && [ "$("$r" --version)" = "$want" ]; then rustc=$r; break; fi
    done
    [ -n "$rustc" ] || kbuild_die "kernel $release was built with '$want', which was not found (PATH has" \
        "'$(rustc --version 2>/dev/null || echo no rustc)'): install that rustc and pass RUSTC=/path/to/rustc"
fi
args+=("RUSTC=$rustc")
[ ! -x "$(dirname "$rustc")/clippy-driver" ] || args+=("CLIPPY_DRIVER=$(dirname "$rustc")/clippy-driver")

# bindgen: only `make rust-analyzer` runs it (through scripts/rust_is_available.sh), so a missing
# one is left for that check to name.
want=$(kbuild_conf BINDGEN_VERSION_TEXT)
cache=${EVENTFD_MAX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eventfd_max}
for b in "${BINDGEN:-}" "$(command -v bindgen)" "$HOME/.cargo/bin/bindgen" "$cache"/bindgen-*/bin/bindgen; do
    if [ -x "$b" ] && [ "$("$b" --version 2>/dev/null)" = "$want" ]; then args+=("BINDGEN=$b"); break; fi
done
echo "${args[*]}"
