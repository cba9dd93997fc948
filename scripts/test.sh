#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs the real tools the tests use
# (scripts/install-test-deps.sh), then runs every test of the workspace. This is the README's
# test command, and .ci/run calls it after fmt and clippy.
set -euo pipefail
cd "$(dirname "$0")/.."
test -d ../shared/conformance/pss || { echo "../shared is missing: the conformance data must sit beside the checkout" >&2; exit 1; }
bash scripts/install-test-deps.sh
exec cargo test --workspace --locked "$@"
