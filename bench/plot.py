#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Plot the latency CDFs from eventfd_max_bench's JSON (--out) as a PNG, with gnuplot.

    bench/plot.py RESULTS.json [OUTPUT.png | -o OUTPUT.png] [--all]

Draws every row (native eventfd(2), /dev/eventfd_max with the bounded maximum, the one-page pipe, the
futex counter, eventfd(2) on a timerfd tick) but eventfd_max with maximum ULLONG_MAX, which --all adds,
log x-axis.  Needs only the standard library and gnuplot with the pngcairo terminal (Debian:
gnuplot-nox).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

FLOOR_US = 0.1  # a log axis has no 0: latencies below this are drawn at it


def pick_rows(doc, everything):
    bounded = str(doc.get("bounded_maximum", 10))
    return [row for row in doc["latency"]["rows"]
            if not row["mechanism"].startswith("eventfd_max") or row["maximum"] == bounded or everything]


def label(row):
    name, maximum = row["mechanism"], row["maximum"]
    if name == "eventfd(2)":
        return "eventfd(2)"
    if name == "pipe":
        return "pipe, F_SETPIPE_SZ %s" % maximum
    if name == "futex":
        return "futex counter in shared memory, maximum=%s" % maximum
    if name == "eventfd+tick":
        return "eventfd(2) read on a %s timerfd tick" % maximum[len("tick"):]
    suffix = " (substituted by eventfd(2))" if name.endswith("*") else ""
    return "eventfd_max, maximum=%s%s" % (maximum, suffix)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="JSON written by eventfd_max_bench --out")
    ap.add_argument("output_pos", nargs="?", metavar="OUTPUT.png", help="PNG to write")
    ap.add_argument("-o", "--output", help="PNG to write (default latency_cdf.png)")
    ap.add_argument("--all", action="store_true", help="also plot maximum=ULLONG_MAX")
    args = ap.parse_args()
    args.output = args.output or args.output_pos or "latency_cdf.png"

    if not shutil.which("gnuplot"):
        sys.exit("plot.py: gnuplot not found (apt-get install gnuplot-nox)")
    with open(args.results) as f:
        doc = json.load(f)
    if "latency" not in doc:
        sys.exit("plot.py: %s has no latency scenario (run without --only, or with --only latency)"
                 % args.results)
    rows = pick_rows(doc, args.all)
    machine = {"icount": " (icount: 1 instruction = 1 ns)", "tcg": " (emulated CPU)"}.get(doc.get("mode"), "")
    title = "eventfd_max latency CDF: %d events, writer %g/s, reader %g/s; accelerator %s%s" % (
        doc["latency"]["events"], doc["latency"]["write_hz"], doc["latency"]["read_hz"],
        doc.get("accelerator", "unknown"), machine)

    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for i, row in enumerate(rows):
            samples = sorted(max(ns / 1e3, FLOOR_US) for ns in row["samples_ns"])
            if not samples:
                continue
            path = os.path.join(tmp, "%d.dat" % i)
            with open(path, "w") as f:
                for k, us in enumerate(samples, 1):
                    f.write("%.3f %.6f\n" % (us, k / len(samples)))
            # Thinner on top: curves that coincide (deterministic runs make them) stay visible.
            plots.append("'%s' using 1:2 with steps lw %d title \"%s\"" % (path, len(rows) - i, label(row)))
        if not plots:
            sys.exit("plot.py: no latency samples in %s" % args.results)
        script = "\n".join([
            "set terminal pngcairo size 1000,700 noenhanced font 'DejaVu Sans,10'",
            "set output '%s'" % args.output.replace("'", "''"),
            "set title \"%s\"" % title,
            "set logscale x 10",
            "set format x '%g'",
            "set xlabel 'latency from write() to read() (microseconds, log scale)'",
            "set ylabel 'fraction of events'",
            "set yrange [0:1.02]",
            "set grid xtics mxtics ytics",
            "set key outside below maxrows 3",
            "set bmargin 8",
            "plot " + ", \\\n     ".join(plots),
        ])
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print("plot.py: wrote %s" % args.output)


if __name__ == "__main__":
    main()
