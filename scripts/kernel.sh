#!/usr/bin/env bash
# Builds (or reuses) the Rust-enabled test kernel for a profile and prints its build directory.
#   scripts/kernel.sh release|debug
#   scripts/kernel.sh source         only extracts the kernel source and prints its directory
# The build lives outside the repo, under $EVENTFD_MAX_CACHE (default ~/.cache/eventfd_max), keyed by the
# kernel source version, the config fragments, the recipe version (KERNEL_RECIPE in versions.env)
# and the toolchain versions: a second run with the
# same inputs reuses it, a changed input builds a new one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=versions.env
. "$here/versions.env"
profile=${1:?usage: kernel.sh release|debug|source}
cache=${EVENTFD_MAX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eventfd_max}
srcver=$(dpkg-query -W -f='${Version}' "$KERNEL_SOURCE_PKG" 2>/dev/null) || {
    echo "kernel.sh: $KERNEL_SOURCE_PKG is not installed; run scripts/provision.sh as root" >&2
    exit 1
}
src=$cache/src/$KERNEL_SOURCE_PKG-${srcver//[~+:]/_}
log() { echo "kernel.sh: $*" >&2; }

mkdir -p "$cache/kernel"
# Concurrent callers extract once, and build each profile once: a second caller waits for the first.
exec 8> "$cache/kernel/.source.lock"
flock 8
if [ ! -f "$src/.extracted" ]; then
    log "extracting $KERNEL_SOURCE_PKG $srcver"
    rm -rf "$src" && mkdir -p "$src"
    tar -xf "/usr/src/$KERNEL_SOURCE_PKG.tar.xz" -C "$src" --strip-components=1
    touch "$src/.extracted"
fi
# The test programs need only the source (kselftest_harness.h), not a built kernel.
if [ "$profile" = source ]; then echo "$src"; exit 0; fi

frag=$top/kconfig/$profile.config
[ -f "$frag" ] || { echo "kernel.sh: no profile $profile ($frag)" >&2; exit 2; }
bindgen=$cache/bindgen-$BINDGEN_VERSION/bin/bindgen
toolchain=$("$here/check-toolchain.sh")
key=$( { echo "$toolchain recipe=$KERNEL_RECIPE"; cat "$top/kconfig/base.config" "$frag"; } | sha256sum | cut -c1-16)
obj=$cache/kernel/$profile-$key

exec 8>&-
exec 9> "$cache/kernel/.$profile.lock"
flock 9
if [ -f "$obj/.eventfd_max-done" ] && [ -f "$obj/eventfd_max.mk" ]; then
    log "reusing $profile kernel $obj"
    echo "$obj"; exit 0
fi
mk=(make -s -C "$src" O="$obj" LLVM=-$LLVM_VERSION RUSTC="$RUSTC" BINDGEN="$bindgen")
export LIBCLANG_PATH
rm -rf "$obj" && mkdir -p "$obj"
log "configuring $profile kernel in $obj"
"${mk[@]}" tinyconfig >/dev/null
(cd "$src" && scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" "$top/kconfig/base.config" "$frag" >/dev/null)
"${mk[@]}" olddefconfig >/dev/null
# Every option the fragments ask for must have stuck: a silently dropped one would invalidate the tests.
bad=0
while IFS= read -r line; do
    case "$line" in CONFIG_*=*) ;; *) continue ;; esac
    opt=${line%%=*} val=${line#*=}
    if [ "$val" = n ]; then
        grep -q "^$opt=" "$obj/.config" && { log "$opt=n requested but set"; bad=1; }
    else
        grep -qx "$line" "$obj/.config" || { log "$line requested, got: $(grep "^$opt=\|# $opt " "$obj/.config" || echo unset)"; bad=1; }
    fi
done < <(cat "$top/kconfig/base.config" "$frag")
[ $bad = 0 ] || { log "config fragment did not apply"; exit 1; }
log "building $profile kernel (bzImage + modules, -j$(nproc))"
"${mk[@]}" -j"$(nproc)" bzImage modules >&2
# What the module build must pass to match this kernel's toolchain (read by the top Makefile).
printf 'KBUILD_ARGS := LLVM=-%s RUSTC=%s BINDGEN=%s CLIPPY_DRIVER=%s\n' \
    "$LLVM_VERSION" "$RUSTC" "$bindgen" "$(dirname "$RUSTC")/clippy-driver" > "$obj/eventfd_max.mk"
touch "$obj/.eventfd_max-done"
# Builds for inputs that no longer exist only take space.
for old in "$cache/kernel/$profile"-*; do [ "$old" = "$obj" ] || rm -rf "$old"; done
echo "$obj"
