#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The main job: provisions, builds the release-profile kernel, the module and the programs, boots
# the guest, loads the module, shows back-pressure at work and prints the benchmark tables (also
# saved as out/bench/results.json, with a latency CDF plot in out/bench/latency-cdf.png).
#
# The guest runs on QEMU's deterministic machine (scripts/guest.sh --icount: costs are instruction
# counts, the same on every run).  ICOUNT=0 runs plain TCG instead (emulated timings that vary with
# host load); ACCEL=kvm runs under KVM, where it works.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$top"

mode=()
[ "${ACCEL:-tcg}" != tcg ] || [ "${ICOUNT:-1}" = 0 ] || mode=(--icount)
provision
stage "kernel: release profile" "$top/scripts/kernel.sh" release
kdir=$("$top/scripts/kernel.sh" release 2>/dev/null)
stage "module" make -s PROFILE=release modules
stage "programs" make -s programs
mkdir -p "$out/bench"
counted "guest: demo and benchmarks" "$top/scripts/guest.sh" --kernel "$kdir" "${mode[@]}" \
    --module "$out/module/release/eventfd_max.ko" --suite "$top/guest/run.sh" \
    --bin "$out/bin" --timeout "${GUEST_TIMEOUT:-1800}" --results "$out/bench/results.json" \
    --log "$out/logs/guest-run-console.log"
if [ -s "$out/bench/results.json" ]; then
    stage "date the results" python3 "$top/bench/report.py" --stamp "$out/bench/results.json" || true
    stage "plot" python3 "$top/bench/plot.py" "$out/bench/results.json" "$out/bench/latency-cdf.png" \
        || true
fi
# The tables again, last, without the boot and test lines around them.
echo "=== benchmark tables (also in out/bench/results.json; latency CDF: out/bench/latency-cdf.png)"
sed -n '/^# ---- benchmarks/,/^ok - rmmod/p' "$out/logs/guest-run-console.log" | sed '1d;$d'
summary
