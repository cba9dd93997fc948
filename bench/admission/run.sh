#!/usr/bin/env bash
# Admission webhook benchmark: restricted Pod Security + ten CEL/Rego policies
# (bench/admission/admission.yaml), real Pod and Deployment AdmissionReviews, TLS keep-alive
# on loopback, decision log on.
#
# The server is pinned to one core (SERVER_CPU, default 0) and the load generator to another
# (LOADGEN_CPU, default 1) with taskset, so the figures are per server core and the generator
# never steals the server's CPU. It prints:
#   - capacity: closed loop at concurrency 1 (latency of an idle server) and 16 (requests/s
#     one server core sustains);
#   - fixed rates (RATES, default 500 1000 2000 req/s): p50/p99/p99.9 measured from each
#     request's scheduled send time, so a stalled server shows up (no coordinated omission);
#   - the server's RSS at start and after the runs, the decision-log drop and error counters,
#     and the decision-log line count after shutdown.
#
#   bash bench/admission/run.sh            # from the repository root; ../shared beside it
#   BIN=/some/dir SKIP_BUILD=1 bash bench/admission/run.sh   # other palisade binaries
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-20s}
RATES=${RATES:-500 1000 2000}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
BIN=${BIN:-target/release}
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build -q --release -p palisade -p palisade-loadgen
fi
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$BIN/palisade" admission certs --service palisade-admission --namespace palisade-system \
  --out-dir "$work" >/dev/null 2>&1
rm -f /tmp/palisade-bench-decisions.log*
port=$((20000 + RANDOM % 20000))
taskset -c "$SERVER_CPU" "$BIN/palisade" admission serve --config bench/admission/admission.yaml \
  --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" --listen "127.0.0.1:$port" &
server=$!
rss() { awk '/VmRSS/ {print $2/1024 " MiB"}' "/proc/$server/status"; }
lg() {
  taskset -c "$LOADGEN_CPU" "$BIN/palisade-loadgen" --addr "127.0.0.1:$port" --ca "$work/ca.crt" \
    --review crates/palisade-admission/tests/fixtures/reviews/pod-create.json \
    --review crates/palisade-admission/tests/fixtures/reviews/pod-create-compliant.json \
    --review crates/palisade-admission/tests/fixtures/reviews/deployment-update.json "$@"
}
for _ in $(seq 50); do
  if lg --concurrency 1 --duration 100ms --warmup 0s >/dev/null 2>&1; then break; fi
  sleep 0.2
done
echo "machine: $(nproc) cores; server on cpu $SERVER_CPU, load generator on cpu $LOADGEN_CPU"
echo "RSS at start: $(rss)"
echo "# capacity (closed loop)"
for c in 1 16; do
  lg --concurrency "$c" --duration "$DURATION" --warmup 3s
done
echo "# fixed rates (open loop, latency from the scheduled send time)"
for r in $RATES; do
  # Enough connections that each one sends at most every 16 ms.
  c=$(((r + 62) / 63))
  lg --concurrency "$c" --rate "$r" --duration "$DURATION" --warmup 3s || true
done
echo "RSS after the runs: $(rss)"
host=palisade-admission.palisade-system.svc
curl -s --cacert "$work/ca.crt" --resolve "$host:$port:127.0.0.1" "https://$host:$port/metrics" |
  grep -E '^palisade_admission_decision_log_(dropped|errors)_total' || true
kill -TERM "$server"
wait "$server"
echo "server exited $? after SIGTERM"
server=
echo "decision log lines: $(cat /tmp/palisade-bench-decisions.log* | wc -l)"
