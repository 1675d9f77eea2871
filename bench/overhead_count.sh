#!/bin/sh
# Instructions per operation for each row of `mmbench --scenario overhead` (raw, Boost, mmapxx),
# counted by callgrind: load-independent, unlike the timings. Build with -Dbenchmarks=enabled and
# an optimised buildtype (release or debugoptimized), then:
#   bench/overhead_count.sh <build dir> [ops per row, default 1000]
# Prints "row  instructions/op"; a syscall counts as one instruction.
set -eu
build=${1:?usage: overhead_count.sh <build dir> [ops]}
n=${2:-1000}
out=$(mktemp -d "${TMPDIR:-/tmp}/overhead-count.XXXXXX")
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out/cg.%p" \
  "$build/bench/overhead_count" "$n" "$out" >"$out/log" 2>&1 || { cat "$out/log"; exit 1; }
ops_line=$(grep 'ops per row' "$out/log")
echo "$ops_line"
for f in "$out"/cg.*.[0-9]*; do
  name=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
  total=$(sed -n 's/^totals: *//p' "$f")
  case $name in residency/*) ops=$((n / 10 + 1)) ;; *) ops=$n ;; esac
  echo "$name $total $ops"
done | sort -t. -k1,1 | awk '{ printf "%-22s %8.0f\n", $1, $2 / $3 }'
