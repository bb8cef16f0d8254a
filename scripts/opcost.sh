#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The deterministic costs of one or more builds of the module, side by side: guest instructions per
# write+read pair, per poll() and epoll_wait() of a ready fd, per create+close, and per blocking and
# epoll wake-up round trip, each with native eventfd(2) measured in the same boot.  One icount boot
# of the release kernel per module (about a minute each); the JSON of each is kept in --out.
#
#   scripts/opcost.sh [--kernel DIR] [--out DIR] OLD.ko [NEW.ko ...]
#   make opcost KO="old/eventfd_max.ko new/eventfd_max.ko"
#
# The modules may be named anything: each is loaded as eventfd_max.ko.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kdir='' out=$top/out/opcost
while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) kdir=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -*) echo "opcost.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { sed -n '3,12s/^# \{0,1\}//p' "$0" >&2; exit 2; }
for ko; do [ -f "$ko" ] || { echo "opcost.sh: no module $ko" >&2; exit 2; }; done
kdir=${kdir:-$("$top/scripts/kernel.sh" release)}
work=$(mktemp -d "${TMPDIR:-/tmp}/eventfd_max-opcost.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/bin" "$work/ko"
make -s -C "$top/bench" O="$work/bin"
results=()
for i in $(seq 1 $#); do
    ko=${!i}
    cp "$ko" "$work/ko/eventfd_max.ko"
    echo "opcost: $ko (boot $i of $#, console in $out/$i.log)"
    if ! "$top/scripts/guest.sh" --icount --kernel "$kdir" --module "$work/ko/eventfd_max.ko" \
        --suite "$top/guest/opcost.sh" --bin "$work/bin" --timeout 900 --results "$out/$i.json" \
        --log "$out/$i.log" > /dev/null; then
        tail -20 "$out/$i.log" >&2
        echo "opcost.sh: the guest run for $ko failed (console: $out/$i.log)" >&2
        exit 1
    fi
    results+=("$out/$i.json")
done
python3 "$top/bench/report.py" --compare "${results[@]}" --labels "$@"
