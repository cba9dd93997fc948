#!/usr/bin/env bash
# palisade threat benchmark: index size for 1M indicators, matching throughput on one core,
# and the retrospective 7-day search over a SQLite store (crates/palisade-threat/benches).
# Usage: scripts/bench-threat.sh [INDICATORS] [RECORDS] [STORE_FLOWS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p palisade-threat --bench threat --quiet
bin=$(ls -t target/release/deps/threat-* | grep -v '\.d$' | head -1)
echo "== $(date -u +%FT%TZ) $(nproc) cores, pinned to core 1 (taskset -c 1)"
taskset -c 1 "$bin" "${1:-1000000}" "${2:-1000000}" "${3:-300000}"
