#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain: real tools and servers from
# Debian's packages. Idempotent: a tool already on PATH is not installed again. Used by
# scripts/test.sh (the README's test command) and therefore by .ci/run.
#
# Add a test dependency here, as one `need` line: the command that must exist, and the Debian
# package that provides it.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

missing_pkgs=()
need() { # need COMMAND DEBIAN_PACKAGE
  command -v "$1" >/dev/null 2>&1 || missing_pkgs+=("$2")
}
need_file() { # need_file PATH DEBIAN_PACKAGE
  [ -e "$1" ] || missing_pkgs+=("$2")
}

need promtool prometheus # the admission and detect tests lint /metrics with `promtool check metrics`
need kubectl kubectl # the install test renders deploy/ with `kubectl kustomize`
# observe: live capture links libpcap (build time too); tshark is the reference for packet
# counts and DNS names; ip makes the netns capture test's namespaces; publicsuffix gives
# registered domains.
need tshark tshark
need ip iproute2
# console: the build bundles the front-end with npm (node, npm); the browser test drives
# Debian's Chromium headless through playwright-core (installed by npm ci, no browser download).
need node nodejs
need npm npm
need chromium chromium
need_file /usr/include/pcap/pcap.h libpcap-dev
need_file /usr/share/publicsuffix/public_suffix_list.dat publicsuffix
# image: a real registry (the CNCF distribution server) and htpasswd for its basic-auth test.
need docker-registry docker-registry
need htpasswd apache2-utils
# the ClickHouse store backend: its tests start their own server (sbin: not on a user's PATH)
need_file /usr/sbin/clickhouse-server clickhouse-server

if [ "${#missing_pkgs[@]}" -gt 0 ]; then
  echo "installing test dependencies (Debian): ${missing_pkgs[*]}"
  apt_log="$(mktemp)"
  if ! { $SUDO apt-get update -qq &&
         $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}"; } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    echo "could not install ${missing_pkgs[*]} (Debian packages); the tests that use them would fail" >&2
    exit 1
  fi
  rm -f "$apt_log"
fi
promtool --version 2>&1 | head -1

# image: the SBOM validators (CycloneDX's schemas from npm, SPDX's pyspdxtools from PyPI) into target/.
bash "$(dirname "$0")/image-test-deps.sh"
