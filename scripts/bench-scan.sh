#!/usr/bin/env bash
# Benchmark: `palisade scan` over ../shared/corpus (real manifests from 15 projects).
#
# Prints, for the corpus (1x) and for ten copies of it in one scan (10x, built in a temp dir):
# wall time (best and median of N runs), peak RSS, and the phase times the binary reports
# with PALISADE_PHASE_TIMES=1 (load, checks, policy, rbac, netpol, render), so a regression
# or a superlinear term shows up as a 10x/1x ratio well above 10.
#
#   --runs N          runs per measurement (default 10; 10x uses max(3, N/3))
#   --bin PATH        the binary to measure (default: cargo build --release, target/release)
#   --no-10x          only the corpus itself
#   --cold            also measure a cold page cache (root: drops the caches, once per run):
#                     palisade against reading the same files with cat, one reader and eight
#   --with-checkov    also installs Checkov 3.3 into .bench/venv and measures it on the
#                     corpus in the same run (offline: --skip-download), one run
#   --corpus DIR      another corpus
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10
with_checkov=0
cold=0
tenx=1
bin=
corpus=../shared/corpus
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --no-10x) tenx=0; shift ;;
    --cold) cold=1; shift ;;
    --with-checkov) with_checkov=1; shift ;;
    --corpus) corpus=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

if [ -z "$bin" ]; then
  cargo build --release -q -p palisade
  bin=target/release/palisade
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $bin"

# median and best of a list of numbers (one per line)
stats() { sort -n | awk '{a[NR]=$1} END{printf "best %.3f s, median %.3f s", a[1], a[int((NR+1)/2)]}'; }

# measure LABEL DIR RUNS [extra scan args...]
measure() {
  local label=$1 dir=$2 n=$3
  shift 3
  local times=() phases=()
  for _ in $(seq "$n"); do
    local s e
    s=$(date +%s.%N)
    PALISADE_PHASE_TIMES=1 "$bin" scan "$dir" --no-config -o json "$@" >/dev/null 2>"$tmp/err" || true
    e=$(date +%s.%N)
    times+=("$(echo "$e - $s" | bc -l)")
    # (a binary without PALISADE_PHASE_TIMES prints none: wall time and RSS only)
    phases+=("$(grep '^phases:' "$tmp/err" | tail -1 || true)")
  done
  /usr/bin/time -f '%M' -o "$tmp/rss" "$bin" scan "$dir" --no-config -o json "$@" >/dev/null 2>&1 || true
  local rss
  rss=$(tail -1 "$tmp/rss")
  printf '%s: %s over %d runs; peak RSS %.1f MB\n' "$label" "$(printf '%s\n' "${times[@]}" | stats)" "$n" "$(echo "$rss / 1024" | bc -l)"
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}' >"$tmp/wall-$label"
  echo "$rss" >"$tmp/rss-$label"
  # Median of each phase over the runs.
  printf '%s\n' "${phases[@]}" | python3 -c '
import re, sys, statistics
names = ["load", "checks", "policy", "rbac", "netpol", "render", "total"]
rows = []
for line in sys.stdin:
    m = dict(re.findall(r"(\w+) ([0-9.]+) ms", line))
    if m:
        rows.append(m)
if rows:
    med = {n: statistics.median(float(r[n]) for r in rows) for n in names}
    tail = re.search(r"\((.*)\)", line)
    print("  phases (median ms): " + ", ".join(f"{n} {med[n]:.1f}" for n in names) + (f" ({tail.group(1)})" if tail else ""))
    with open(sys.argv[1], "w") as f:
        f.write(" ".join(f"{med[n]:.3f}" for n in names))
' "$tmp/phases-$label"
}

echo "corpus: $corpus ($(find "$corpus" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | wc -l) manifest files, $(du -sh "$corpus" | cut -f1))"
measure 1x "$corpus" "$runs"

if [ "$tenx" = 1 ]; then
  for i in 0 1 2 3 4 5 6 7 8 9; do cp -r "$corpus" "$tmp/copy$i"; done
  n10=$(( runs / 3 )); [ "$n10" -ge 3 ] || n10=3
  echo "10x: $tmp ($(du -sh "$tmp" | cut -f1), ten copies of the corpus)"
  measure 10x "$tmp" "$n10"
  measure "10x--skip-NP*" "$tmp" "$n10" --skip 'NP*'
  echo "  10x/1x wall (median): $(echo "$(cat "$tmp/wall-10x") / $(cat "$tmp/wall-1x")" | bc -l | cut -c1-5)x"
  [ -s "$tmp/phases-1x" ] && python3 - "$tmp/phases-1x" "$tmp/phases-10x" <<'EOF'
import sys
names = ["load", "checks", "policy", "rbac", "netpol", "render", "total"]
a = [float(x) for x in open(sys.argv[1]).read().split()]
b = [float(x) for x in open(sys.argv[2]).read().split()]
print("  10x/1x: " + ", ".join(f"{n} {y / x:.1f}x" if x >= 0.05 else f"{n} -" for n, x, y in zip(names, a, b)) + "  (linear = 10x)")
EOF
  rm -rf "$tmp"/copy*
fi

if [ "$cold" = 1 ]; then
  drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
  files="$tmp/files"
  # The files palisade reads: hidden directories skipped, sorted.
  find "$corpus" -mindepth 1 -name '.*' -prune -o -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) -print | sort >"$files"
  echo "  $(wc -l <"$files") files, $(xargs -d '\n' cat <"$files" | wc -c) bytes"
  cold_times() { # label command...
    local label=$1; shift
    local t=()
    for _ in 1 2 3; do
      drop
      local s e
      s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
      t+=("$(echo "$e - $s" | bc -l)")
    done
    printf '  cold %-34s %s (3 runs)\n' "$label:" "$(printf '%s\n' "${t[@]}" | stats)"
  }
  echo "cold page cache (sync; echo 3 > /proc/sys/vm/drop_caches before each run):"
  cold_times "cat, one reader" sh -c "xargs -d '\n' cat <'$files'"
  cold_times "cat, eight readers" sh -c "xargs -d '\n' -n 16 -P 8 cat <'$files'"
  cold_times "palisade scan" "$bin" scan "$corpus" --no-config -o json
  drop
  PALISADE_PHASE_TIMES=1 "$bin" scan "$corpus" --no-config -o json 2>&1 >/dev/null | grep '^phases:' | sed 's/^/  cold /' || true
  PALISADE_PHASE_TIMES=1 "$bin" scan "$corpus" --no-config -o json 2>&1 >/dev/null | grep '^phases:' | sed 's/^/  warm /' || true
fi

if [ "$with_checkov" = 1 ]; then
  if [ ! -x .bench/venv/bin/checkov ]; then
    python3 -m venv .bench/venv
    .bench/venv/bin/pip install -q 'checkov>=3.3,<3.4'
  fi
  echo "checkov: $(.bench/venv/bin/checkov --version)"
  export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false
  /usr/bin/time -f '%e %M' -o "$tmp/checkov-time" .bench/venv/bin/checkov -d "$corpus" \
    --framework kubernetes --skip-download -o json --quiet >"$tmp/checkov.json" 2>/dev/null || true
  read -r csecs crss < <(tail -1 "$tmp/checkov-time")
  cres=$(python3 -c '
import json, sys; d=json.load(open(sys.argv[1])); d=d if isinstance(d,list) else [d]
s=d[0]["summary"]; print(s["resource_count"], s["failed"])' "$tmp/checkov.json")
  read -r cobjects cfailed <<<"$cres"
  printf 'checkov: %.1f s; peak RSS %.1f MB; %s resources, %s failed checks\n' "$csecs" "$(echo "$crss / 1024" | bc -l)" "$cobjects" "$cfailed"
  # Palisade's median wall time and peak RSS from the 1x measurement above, same run.
  printf 'palisade is %.0fx faster (median wall) and uses %.0fx less memory\n' \
    "$(echo "$csecs / $(cat "$tmp/wall-1x")" | bc -l)" "$(echo "$crss / $(cat "$tmp/rss-1x")" | bc -l)"
fi
