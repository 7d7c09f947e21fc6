# Kiln repo-server image: built with the pinned toolchain and the
# WebAssembly target (the built-in plugins are compiled and embedded), run
# as a non-root user on a minimal Debian base with only what Kiln calls:
# ssh for ssh:// remotes and CA certificates for https://.
#
#   docker build -t kiln:dev .
#   docker run --rm -p 8081:8081 kiln:dev serve --listen 0.0.0.0:8081 --allow-repo 'https://github.com/acme/*'

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN rustup target add wasm32-wasip2 \
 && cargo build --release --locked -p kiln \
 && install -D -m 0755 target/release/kiln /out/kiln

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 kiln \
 && useradd --uid 65532 --gid 65532 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin kiln
COPY --from=build /out/kiln /usr/local/bin/kiln
USER 65532:65532
ENV KILN_CACHE_DIR=/var/cache/kiln
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/kiln"]
CMD ["serve", "--listen", "0.0.0.0:8081"]
