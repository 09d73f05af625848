#!/bin/sh
# Runs the bench of several builds back to back, with the load average before and after each, so
# that a before/after pair shares the machine's conditions as far as a shared machine allows.
#
#   bench/compare.sh <label> <build root>... -- <bench options>
#
# A build root holds `dist/` and `package.json` (the bench reads the version from it), e.g. an
# earlier commit built into tmp/before:
#   git stash -u && npm run build && mkdir -p tmp/before && cp -r dist package.json tmp/before/ \
#     && git stash pop && npm run build
#   bench/compare.sh tp tmp/before . -- --only throughput,append
# Results: tmp/<label>-<n>.{json,txt} for the n-th build (progress in .out), the loads in tmp/<label>.log.
set -eu
label=$1
shift
roots=""
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  roots="$roots $1"
  shift
done
[ "$#" -gt 0 ] && shift
mkdir -p tmp
n=0
for root in $roots; do
  n=$((n + 1))
  echo "== $n $root start $(date -u +%H:%M:%S) $(uptime)" >>"tmp/$label.log"
  node "$root/dist/bench/run.js" "$@" --out "tmp/$label-$n.json" >"tmp/$label-$n.out" 2>&1 || true
  echo "== $n $root end $(date -u +%H:%M:%S) $(uptime)" >>"tmp/$label.log"
done
