#!/usr/bin/env bash
# Test-time dependencies of the SBOM schema tests (crates/palisade-image/tests/sbom.rs), installed
# with their registries' ordinary clients into target/image-test-deps (nothing is copied into the
# repository):
#   - npm @cyclonedx/cyclonedx-library: ships CycloneDX's published JSON schemas
#     (res/schema/bom-1.5.SNAPSHOT.schema.json and the spdx/jsf schemas it references);
#   - PyPI spdx-tools: the SPDX project's own validator (pyspdxtools), for SPDX 2.3 documents.
# Idempotent: does nothing when both are present.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="target/image-test-deps"
mkdir -p "$dir"
if [ ! -f "$dir/node_modules/@cyclonedx/cyclonedx-library/res/schema/bom-1.5.SNAPSHOT.schema.json" ]; then
  npm install --silent --no-audit --no-fund --prefix "$dir" @cyclonedx/cyclonedx-library@10.3.0 >/dev/null
fi
if [ ! -x "$dir/py/bin/pyspdxtools" ]; then
  python3 -m venv "$dir/py"
  "$dir/py/bin/pip" install --quiet spdx-tools==0.8.5
fi
