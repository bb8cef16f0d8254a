# SPDX-License-Identifier: GPL-2.0
# Counts the TAP/KTAP results of a guest console log, at every level of nesting.
#
#   awk -f tap-count.awk [-v allow=ERE] console.log
#
# A result line is "ok ..." or "not ok ..." after any number of nesting prefixes: "# " (how
# kselftest's run_kselftest.sh and selftests/tap.sh re-prefix a program's output) or four spaces
# (KTAP subtests).  "# SKIP" after the description makes it a skip (also on "not ok", as in TAP).
#
# What is counted, so that nothing is counted twice and nothing can hide:
#   - every leaf: a result with no results nested under it (the tests themselves);
#   - a parent (a result closing the deeper results printed since the previous result at its own
#     depth or above, e.g. "ok 1 selftests: eventfd_max: eventfd_max_test") is not counted again,
#     except that a failing parent none of whose children failed counts one failure (a program
#     that crashed or exited non-zero after passing tests), and a skipping parent none of whose
#     children failed or skipped counts one skip (a program that exited with the skip code).
# Plans ("1..N") are not checked here: a program that stops short exits non-zero, which its
# parent line (or the suite's exit status) reports.
#
# Prints one line per skip whose result line does not match the ERE `allow` ("skip: <line>"),
# then "<passed> <failed> <skipped> <skips not allowed>".
{
    sub(/\r$/, "")
    line = $0
    depth = 0
    for (;;) {
        if (substr(line, 1, 2) == "# ") { line = substr(line, 3); depth++ }
        else if (substr(line, 1, 4) == "    ") { line = substr(line, 5); depth++ }
        else break
    }
    if (line !~ /^(not ok|ok)([ \t]|$)/)
        next
    if (line ~ /#[ \t]*[Ss][Kk][Ii][Pp]([ \t]|$)/) status = "skip"
    else if (line ~ /^not ok/) status = "fail"
    else status = "pass"

    # Close the results nested under this one.
    kids = 0; kid_fail = 0; kid_skip = 0
    for (k = depth + 1; k <= deepest; k++) {
        kids += seen[k]; kid_fail += fails[k]; kid_skip += skips[k]
        seen[k] = 0; fails[k] = 0; skips[k] = 0
    }
    if (depth > deepest) deepest = depth

    own_fail = 0; own_skip = 0
    if (status == "fail" && (kids == 0 || kid_fail == 0)) own_fail = 1
    else if (status == "skip" && (kids == 0 || kid_fail + kid_skip == 0)) own_skip = 1
    else if (status == "pass" && kids == 0) passed++
    failed += own_fail
    skipped += own_skip
    if (own_skip && (allow == "" || line !~ allow)) {
        not_allowed++
        print "skip: " line
    }
    seen[depth]++
    fails[depth] += kid_fail + own_fail
    skips[depth] += kid_skip + own_skip
}
END { printf "%d %d %d %d\n", passed, failed, skipped, not_allowed }
