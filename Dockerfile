# The appgen server image (appgen:dev in docs/kind.md): the `appgen` binary, which the Helm chart
# runs as `appgen controller` and `appgen api`. The web UI is embedded from the committed ui/dist,
# so no Node toolchain is needed. Generator tasks use the generator image (generator/Dockerfile).
#
#   docker build -t appgen:dev .

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package appgen --bin appgen \
    && install -m 0755 target/release/appgen /usr/local/bin/appgen

FROM debian:bookworm-slim
# CA roots for S3 and other HTTPS peers; nothing else is needed at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 appgen \
    && useradd --uid 10001 --gid 10001 --home-dir /var/lib/appgen --create-home --shell /usr/sbin/nologin appgen
COPY --from=build /usr/local/bin/appgen /usr/local/bin/appgen
# Numeric, so Kubernetes can verify runAsNonRoot without a runAsUser.
USER 10001:10001
WORKDIR /var/lib/appgen
ENTRYPOINT ["/usr/local/bin/appgen"]
CMD ["--help"]
