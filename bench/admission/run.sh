#!/usr/bin/env bash
# Admission webhook benchmark: restricted Pod Security + ten CEL/Rego policies
# (bench/admission/admission.yaml), real Pod and Deployment AdmissionReviews, TLS keep-alive
# on loopback. Prints closed-loop results at concurrency 1, 16 and 64, a 60 s fixed-rate run
# at 2,000 requests/s, and the server's RSS at start and every 10 s of that run.
#
#   bash bench/admission/run.sh            # from the repository root; ../shared beside it
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-20s}
RATE_SECONDS=${RATE_SECONDS:-60}
cargo build -q --release -p palisade -p palisade-loadgen
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
target/release/palisade admission certs --service palisade-admission --namespace palisade-system \
  --out-dir "$work" >/dev/null 2>&1
rm -f /tmp/palisade-bench-decisions.log*
port=$((20000 + RANDOM % 20000))
target/release/palisade admission serve --config bench/admission/admission.yaml \
  --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" --listen "127.0.0.1:$port" &
server=$!
rss() { awk '/VmRSS/ {print $2/1024 " MiB"}' "/proc/$server/status"; }
lg() {
  target/release/palisade-loadgen --addr "127.0.0.1:$port" --ca "$work/ca.crt" \
    --review crates/palisade-admission/tests/fixtures/reviews/pod-create.json \
    --review crates/palisade-admission/tests/fixtures/reviews/pod-create-compliant.json \
    --review crates/palisade-admission/tests/fixtures/reviews/deployment-update.json "$@"
}
for _ in $(seq 50); do
  if lg --concurrency 1 --duration 100ms --warmup 0s >/dev/null 2>&1; then break; fi
  sleep 0.2
done
echo "machine: $(nproc) cores; server and load generator share them"
echo "RSS at start: $(rss)"
for c in 1 16 64; do
  lg --concurrency "$c" --duration "$DURATION" --warmup 3s
done
echo "RSS after closed-loop runs: $(rss)"
lg --concurrency 16 --rate 1000 --duration "$DURATION" --warmup 3s
lg --concurrency 32 --rate 2000 --duration "${RATE_SECONDS}s" --warmup 3s &
loadgen=$!
for i in $(seq 10 10 "$RATE_SECONDS"); do
  sleep 10
  echo "RSS at ${i}s of the 2000 req/s run: $(rss)"
done
wait $loadgen
echo "decision log lines: $(cat /tmp/palisade-bench-decisions.log* | wc -l)"
kill -TERM "$server"
wait "$server"
echo "server exited $? after SIGTERM"
server=
