#!/usr/bin/env bash
# Installs the kernel Rust toolchain, build dependencies, QEMU and the kernel source.
# Idempotent and safe to repeat; needs root (apt).  Fails with a clear message if a pinned
# version cannot be had.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${EVENTFD_MAX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eventfd_max}
mkdir -p "$cache"

die() { echo "provision: $*" >&2; exit 1; }
log() { echo "provision: $*"; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get); or install by hand: $APT_PACKAGES"
export DEBIAN_FRONTEND=noninteractive

# --- extra suites, each behind a low pin so apt takes from it only what is named here:
#     trixie-backports for the kernel source tarball (arch-all), bookworm-backports for a QEMU that
#     matches the qemu-utils these machines ship (bookworm's QEMU 7.2 conflicts with it).
need_update=0
add_suite() { # suite, packages taken from it at priority 500
    local suite=$1 pkgs=$2 src=/etc/apt/sources.list.d/eventfd-max-$1.sources
    local pin=/etc/apt/preferences.d/eventfd-max-$1 base=/etc/apt/sources.list.d/debian.sources
    if [ ! -f "$src" ]; then
        [ -f "$base" ] || die "no $base to copy the Debian URI and keyring from"
        printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
            "$(awk '/^URIs:/ {print $2; exit}' "$base")" "$suite" \
            "$(awk '/^Signed-By:/ {print $2; exit}' "$base")" > "$src"
        need_update=1
    fi
    if [ ! -f "$pin" ]; then
        printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n' "$suite" > "$pin"
        [ -z "$pkgs" ] || printf '\nPackage: %s\nPin: release n=%s\nPin-Priority: 500\n' "$pkgs" "$suite" >> "$pin"
        need_update=1
    fi
}
add_suite "$KERNEL_SUITE" "$KERNEL_SOURCE_PKG"
add_suite "$QEMU_SUITE" ""

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
apt_install() { # [apt options...] packages
    [ $need_update = 0 ] || { apt-get update -qq; need_update=0; }
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null && return 0
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
# shellcheck disable=SC2086
for p in $APT_PACKAGES $KERNEL_SOURCE_PKG; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    apt_install "${missing[@]}" || die "apt-get install failed for: ${missing[*]}"
fi
if ! installed qemu-system-x86; then
    log "installing qemu-system-x86 from $QEMU_SUITE"
    apt_install -t "$QEMU_SUITE" qemu-system-x86 || die "apt-get install qemu-system-x86 ($QEMU_SUITE) failed"
fi

# --- the kernel source extracted into the cache (half a minute of xz on a cold cache) while
#     bindgen, from the Rust registry, is installed there so it survives and is versioned
"$here/kernel.sh" source > /dev/null &
extract=$!
bindgen=$cache/bindgen-$BINDGEN_VERSION/bin/bindgen
if [ ! -x "$bindgen" ]; then
    command -v cargo >/dev/null || die "cargo not found: needed to install bindgen-cli $BINDGEN_VERSION"
    log "installing bindgen-cli $BINDGEN_VERSION"
    LIBCLANG_PATH=$LIBCLANG_PATH cargo install -q --locked --root "$cache/bindgen-$BINDGEN_VERSION" \
        bindgen-cli --version "=$BINDGEN_VERSION" || die "cargo install bindgen-cli $BINDGEN_VERSION failed"
fi
wait "$extract" || die "extracting the kernel source failed"

"$here/check-toolchain.sh"
