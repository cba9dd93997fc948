# The Palisade image: one binary for every component (`palisade install` runs it as the
# admission webhook, the audit receiver, the controller, the node checks and the flow sensor).
#
# Build:  docker build -t palisade .
# Checked in tests (crates/palisade-controller/tests/dockerfile.rs) with the project's own
# rules where they apply: pinned non-latest bases, a non-root numeric USER, no secrets in
# ENV/ARG, no remote ADD, a HEALTHCHECK-free distroless runtime whose pods run with a
# read-only root filesystem (install's manifests, scanned clean by `palisade scan`).

# --- build: a release binary, with libpcap for live capture ---
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p palisade \
 && install -D -m 0755 target/release/palisade /out/usr/local/bin/palisade
# The shared libraries the binary needs beyond glibc and libgcc (libpcap and its
# dependencies), copied with their paths into the runtime image.
RUN ldd target/release/palisade \
  | awk '$3 ~ /^\// { print $3 }' \
  | grep -Ev '/(libc|libm|libgcc_s|libpthread|libdl|librt|ld-linux[^/]*)\.so' \
  | xargs -r -I{} cp --parents -L {} /out/

# --- runtime: distroless, no shell, no package manager, non-root ---
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/ /
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/palisade"]
