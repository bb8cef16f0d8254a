#!/bin/sh
# The guest half of `make run` (release kernel, module loaded by init): a back-pressure demo, then
# every benchmark, whose machine-readable results init copies out to the host.
bin=/opt/eventfd_max/bin
status=0
echo "# ---- back-pressure demo: a fast producer held back by a slow consumer (maximum 10)"
$bin/example_c_producer_consumer || status=1
echo "# ---- benchmarks"
$bin/eventfd_max_bench --quick --out /results || status=1
exit $status
