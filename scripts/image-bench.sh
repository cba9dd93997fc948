#!/usr/bin/env bash
# Image scanning benchmark (BENCHMARKS.md, "Image scanning"): a ~100 MB Debian-based image
# pushed to a local docker-registry, scanned cold (empty layer cache: pull, catalog, match)
# and warm (layers cached), peak memory from /usr/bin/time, and matching 2,000 packages
# against a synthetic database the size of OSV's Debian + PyPI data. Pinned to one core.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p palisade-image --example image-bench
bin=target/release/examples/image-bench
work=$(mktemp -d)
trap 'kill $reg_pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/storage}}
http: {addr: 127.0.0.1:$port}
YML
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 & reg_pid=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
ref=$($bin push "127.0.0.1:$port")
$bin db "$work/vuln.db"
echo "== cold (empty cache), then warm, pinned to core 1"
for run in cold warm warm; do
  [ "$run" = cold ] && rm -rf "$work/cache"
  /usr/bin/time -f "$run: max RSS %M KB, wall %e s" taskset -c 1 $bin scan "$ref" "$work/vuln.db" "$work/cache"
done
echo "== matching 2,000 packages"
taskset -c 1 $bin match "$work/vuln.db"
