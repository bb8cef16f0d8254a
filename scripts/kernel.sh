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
if [ -f "$obj/.eventfd_max-done" ]; then
    log "reusing $profile kernel $obj"
    echo "$obj"; exit 0
fi
mk=(make -C "$src" O="$obj" LLVM=-"$LLVM_VERSION" RUSTC="$RUSTC" BINDGEN="$bindgen")
# The build takes minutes: Kbuild's line per step ("  CC      kernel/fork.o") goes to a log, and
# every 30 s one line says how far it is, against the step count of this profile's last build.
steps_file=$cache/kernel/.$profile.steps
step_re='^  [A-Z][A-Z0-9_]*( \[M\])? '
build_with_progress() { # make arguments...
    local buildlog=$obj/.eventfd_max-build.log total='' start=$SECONDS last=$SECONDS pid rc=0 n now
    [ -f "$steps_file" ] && total=$(cat "$steps_file")
    "${mk[@]}" "$@" > "$buildlog" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        [ $((SECONDS - last)) -ge 30 ] || continue
        last=$SECONDS
        n=$(grep -cE "$step_re" "$buildlog" || true)
        now=$(grep -E "$step_re" "$buildlog" | tail -1 | tr -s ' ' | cut -c2- || true)
        log "$profile kernel: $(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s," \
            "$n${total:+ of ~$total} steps${total:+ ($(( n * 100 / total ))%)}, now: $now"
    done
    wait "$pid" || rc=$?
    if [ $rc != 0 ]; then
        tail -40 "$buildlog" >&2
        log "$profile kernel build failed (exit $rc); full log: $buildlog"
        return $rc
    fi
    grep -cE "$step_re" "$buildlog" > "$steps_file" || true
    log "$profile kernel built in $(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s"
}
export LIBCLANG_PATH
rm -rf "$obj" && mkdir -p "$obj"
log "configuring $profile kernel in $obj"
"${mk[@]}" -s tinyconfig >/dev/null
(cd "$src" && scripts/kconfig/merge_config.sh -m -O "$obj" "$obj/.config" "$top/kconfig/base.config" "$frag" >/dev/null)
"${mk[@]}" -s olddefconfig >/dev/null
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
log "building $profile kernel (bzImage + modules, -j$(nproc)): a progress line every 30 s"
build_with_progress -j"$(nproc)" bzImage modules
touch "$obj/.eventfd_max-done"
# Builds for inputs that no longer exist only take space.
for old in "$cache/kernel/$profile"-*; do [ "$old" = "$obj" ] || rm -rf "$old"; done
echo "$obj"
