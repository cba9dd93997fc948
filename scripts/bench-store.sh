#!/usr/bin/env bash
# Store benchmarks (BENCHMARKS.md, "Flow store"): reduction of flow records to stored rows, and
# the 7-day service graph on SQLite and on a ClickHouse server this script starts (Debian's
# clickhouse-server, scripts/clickhouse.sh) on a loopback port. The benchmark runs pinned to
# core 1, the server to core 0.
#
#   scripts/bench-store.sh [reduction] [graph]
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p palisade-store --features clickhouse --bench store 2>&1 | tail -1
bin="$(ls -t target/release/deps/store-* | grep -v '\.d$' | head -1)"

dir="$(mktemp -d)"
trap 'scripts/clickhouse.sh stop "$dir/ch" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
if command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ]; then
  PATH="$PATH:/usr/sbin" url="$(taskset -c 0 scripts/clickhouse.sh start "$dir/ch")"
  export PALISADE_BENCH_CLICKHOUSE="$url"
  hp="${url#clickhouse://}"; echo "ClickHouse $(curl -s "http://${hp%%/*}/" --data-binary "SELECT version()") at $url"
fi
taskset -c 1 "$bin" "$@"
