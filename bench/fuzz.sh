#!/usr/bin/env bash
# Runs every fuzz target of the module for a given time each (default 5m)
# and prints what each run did. `go test -fuzz` takes one package and one
# target per run, so the targets are found by their declarations: a new
# FuzzXxx(f *testing.F) anywhere in the module is picked up without
# editing this script.
#
#   bash bench/fuzz.sh          # the documented long run, 5m per target
#   bash bench/fuzz.sh 15s      # CI
#   FUZZ_PARALLEL=1 bash bench/fuzz.sh   # one worker per target, leaving a core free
#   bash bench/fuzz.sh 5m 'token|web'      # only the targets whose "<package> <target>" matches
#
# A failing input is written by go test to <package>/testdata/fuzz/<Target>/;
# commit it with the fix, and it stays a regression test of `go test ./...`.
# Minimising each new interesting input is capped at 5s (the default, 60s,
# let two workers spend most of a one-minute run minimising).
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-5m}"
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then
  parallel=(-parallel "$FUZZ_PARALLEL")
fi
logs="${FUZZ_LOGS:-$(mktemp -d -t gatehouse-fuzz.XXXXXX)}"
mkdir -p "$logs"

# "<package dir> <target>" lines, such as "./token FuzzVerify" or ". FuzzParseRefresh".
targets=$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . |
  sed -E 's|^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]+).*|\1 \2|' | sort -u | grep -E -- "${2:-.}")

failed=()
flaked=()
summary=()
while read -r pkg target; do
  echo "== $target ($pkg) for $fuzztime"
  log="$logs/$target.log"
  start=$(date +%s)
  if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "${parallel[@]}" "$pkg" >"$log" 2>&1; then
    status=ok
  elif grep -qx '    context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
    # golang/go#75804 (fixed in Go 1.27): when -fuzztime expires, Go's
    # fuzzing coordinator can report its own deadline as a failure of the
    # target. No input failed and none was written, so the run counts.
    status=ok*
    flaked+=("$target")
  else
    status=FAIL
    failed+=("$target")
    tail -n 40 "$log"
  fi
  last=$(grep -E '^fuzz: elapsed: ' "$log" | tail -n 1 | sed -E 's/^fuzz: //')
  summary+=("$(printf '%-18s %-10s %-5s %4ss  %s' "$target" "$pkg" "$status" "$(( $(date +%s) - start ))" "$last")")
done <<<"$targets"

echo
echo "fuzz summary ($fuzztime per target; last progress line of each run; logs in $logs):"
printf '%s\n' "${summary[@]}"
if [ ${#flaked[@]} -gt 0 ]; then
  echo "ok*: ${flaked[*]} ended with Go's own \"context deadline exceeded\" at the time limit and no failing input (golang/go#75804)"
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
