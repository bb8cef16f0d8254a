# Shared by test.sh and run.sh: stage timing and result counting.
# shellcheck shell=bash
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${OUT:-$top/out}
mkdir -p "$out/logs"
cache=${EVENTFD_MAX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eventfd_max}
# Cargo's build output lives in the cache, so a fresh clone does not recompile every dependency.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache/cargo-target}
# use_ccache: so do the C programs' objects, through ccache when it is installed (provision.sh
# installs it): gcc and cc only, as the module's clang builds are not repeated.  Paths inside the
# clone are hashed relative to it, so any clone of the same sources reuses them.
use_ccache() {
    command -v ccache > /dev/null || return 0
    mkdir -p "$cache/ccache-bin"
    ln -sf "$(command -v ccache)" "$cache/ccache-bin/gcc"
    ln -sf "$(command -v ccache)" "$cache/ccache-bin/cc"
    export PATH=$cache/ccache-bin:$PATH CCACHE_DIR=${CCACHE_DIR:-$cache/ccache} \
        CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-1G}
}
total_passed=0 total_failed=0 total_skipped=0
timings=()

# stage NAME COMMAND...: runs a stage, streams its output, records its duration.
stage() {
    local name=$1 start rc
    shift
    echo "=== $name"
    start=$(date +%s)
    set +e
    "$@"
    rc=$?
    set -e
    timings+=("$(printf '%-34s %5ss %s' "$name" $(($(date +%s) - start)) "$([ $rc = 0 ] && echo ok || echo FAILED)")")
    return $rc
}

# count FILE: adds the results a log reports: the runner's "N passed, N failed[, N skipped]" line,
# or cargo's "test result:" lines.
count() {
    local f=$1 p=0 fl=0 s=0 line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$f" | tail -1 || true)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
        fl=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
        s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    else
        while read -r line; do
            p=$((p + $(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')))
            fl=$((fl + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
            s=$((s + $(echo "$line" | sed -E 's/.* ([0-9]+) ignored.*/\1/')))
        done < <(grep -E '^test result: ' "$f" || true)
    fi
    total_passed=$((total_passed + p)) total_failed=$((total_failed + fl)) total_skipped=$((total_skipped + ${s:-0}))
}

# counted NAME COMMAND...: a stage whose results are counted; a failing command with no failed
# result still counts as one failure.
counted() {
    local name=$1 log before rc=0
    shift
    log=$out/logs/$(echo "$name" | tr ' /' '__').log
    before=$total_failed
    stage "$name" "$@" > >(tee "$log") 2>&1 || rc=$?
    # $! is the tee's: the log is complete once it exits.  (Not a bare `wait`, which would also
    # wait for a guest test.sh runs in the background.)
    wait $!
    count "$log"
    [ $rc = 0 ] || [ "$total_failed" -gt "$before" ] || total_failed=$((total_failed + 1))
}

# provision: installs the toolchain as root; otherwise only checks that it is there.
provision() {
    if [ "$(id -u)" = 0 ]; then
        stage "provision" "$top/scripts/provision.sh"
    else
        stage "toolchain check" "$top/scripts/check-toolchain.sh"
    fi
    use_ccache
}

summary() {
    summarised=1
    echo "=== stage timings"
    printf '%s\n' "${timings[@]}"
    echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
    [ "$total_failed" = 0 ]
}

# A stage that aborts the script (set -e) still ends the output with the counts.
trap 'rc=$?; if [ $rc != 0 ] && [ -z "${summarised:-}" ]; then
    total_failed=$((total_failed + 1)); echo "aborted (exit $rc)"; summary; fi' EXIT
