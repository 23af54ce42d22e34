# The shipline job image: node 24, git, ca-certificates, the docker CLI (client only),
# buildah set up for daemonless builds, and this commit's dist/ at /opt/shipline
# (SHIPLINE_HOME), `shipline` on PATH. A job that uses it installs and fetches nothing.
#
# Build arguments (every FROM is a build arg, so a release pins them by digest):
#   BASE              Debian bookworm rootfs. Release: debian:bookworm-slim (pin @sha256:…).
#                     Offline tests: local/debian:bookworm from mmdebstrap (scripts/job-image base).
#   NODE_IMAGE        an image holding the node 24 binary at NODE_BIN (nothing else is taken
#   NODE_BIN          from it). Release: node:24-bookworm-slim, /usr/local/bin/node (glibc,
#                     built for bookworm). Offline tests: local/node:24, the binary of the npm
#                     package node@24 imported by `scripts/job-image node`.
#   DOCKER_CLI_IMAGE  empty (default): the docker client is extracted from Debian's docker.io
#                     .deb (only /usr/bin/docker, 45.6 MB; installing docker.io would add dockerd,
#                     containerd, runc and iptables, ~150 MB more). That client is 20.10 (API
#                     1.41): Docker Engine 29 refuses clients older than API 1.44 unless the
#                     daemon sets DOCKER_MIN_API_VERSION, so a release should pass an image with
#                     a current static client at /usr/local/bin/docker, e.g. docker:28-cli
#                     (pinned by digest); plugins come from /usr/local/libexec/docker/cli-plugins.
#   DOCKER_CLI_PLUGINS  plugins kept from that image (default docker-buildx; compose is dropped).
#   KANIKO_IMAGE      empty (default): no kaniko; kaniko-build uses buildah. Set it to a kaniko
#                     executor image (the maintained fork, e.g. an image with /kaniko/executor)
#                     to copy its /kaniko directory in.
#   OCI_*             org.opencontainers.image.* labels (from shipline's own image-tags step).
#
# Optional stages: `FROM ${X:-fallback-stage} AS x` names either the image the user gave or a
# stage of this file that provides the same paths (empty dir / Debian-extracted client), so
# the final `COPY --from=x` always has a source. docker's classic builder and BuildKit both
# expand global ARGs (with `:-`) in FROM; the classic builder builds every stage, BuildKit only
# the ones the final stage needs. buildah 1.28 does NOT expand a global ARG *default* in
# FROM: with buildah pass every one of BASE, NODE_IMAGE, DOCKER_CLI_IMAGE and KANIKO_IMAGE
# explicitly (e.g. --build-arg DOCKER_CLI_IMAGE=docker-cli-debian --build-arg KANIKO_IMAGE=kaniko-none).
ARG BASE=debian:bookworm-slim
ARG NODE_IMAGE=node:24-bookworm-slim
ARG DOCKER_CLI_IMAGE=
ARG KANIKO_IMAGE=

FROM ${NODE_IMAGE} AS node

# The docker client alone, from Debian's docker.io package (not installed: unpacked).
FROM ${BASE} AS docker-cli-debian
ARG DEBIAN_FRONTEND=noninteractive
RUN set -eu; apt-get update -qq; cd /tmp; apt-get download -qq docker.io; \
    dpkg-deb -x docker.io_*.deb x; install -D -m 0755 x/usr/bin/docker /usr/local/bin/docker; \
    mkdir -p /usr/local/libexec/docker/cli-plugins; rm -rf /tmp/* /var/lib/apt/lists/*

FROM ${DOCKER_CLI_IMAGE:-docker-cli-debian} AS docker-cli-src
# Only the client and the plugins named in DOCKER_CLI_PLUGINS (docker:*-cli also carries
# compose, ~60 MB, which no step uses).
FROM ${BASE} AS docker-cli
ARG DOCKER_CLI_PLUGINS=docker-buildx
COPY --from=docker-cli-src /usr/local/bin/docker /out/usr/local/bin/docker
COPY --from=docker-cli-src /usr/local/libexec/docker/cli-plugins/ /tmp/plugins/
RUN set -eu; mkdir -p /out/usr/local/libexec/docker/cli-plugins; \
    for p in $DOCKER_CLI_PLUGINS; do [ ! -e "/tmp/plugins/$p" ] || cp -a "/tmp/plugins/$p" /out/usr/local/libexec/docker/cli-plugins/; done

# No kaniko: an empty /kaniko so the COPY below always has a source.
FROM ${BASE} AS kaniko-none
RUN mkdir -p /kaniko

FROM ${KANIKO_IMAGE:-kaniko-none} AS kaniko

FROM ${BASE} AS image
ARG DEBIAN_FRONTEND=noninteractive
# buildah without recommends: no fuse-overlayfs/runc (vfs storage, chroot isolation need neither).
RUN set -eu; apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends ca-certificates git buildah >/dev/null; \
    apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log; \
    printf '%s\n' '[storage]' 'driver = "vfs"' 'runroot = "/run/containers/storage"' 'graphroot = "/var/lib/containers/storage"' > /etc/containers/storage.conf; \
    printf '%s\n' 'unqualified-search-registries = ["docker.io"]' 'short-name-mode = "permissive"' > /etc/containers/registries.conf; \
    test -s /etc/containers/policy.json || printf '%s\n' '{"default":[{"type":"insecureAcceptAnything"}]}' > /etc/containers/policy.json
ARG NODE_BIN=/usr/local/bin/node
COPY --from=node ${NODE_BIN} /usr/local/bin/node
COPY --from=docker-cli /out/ /
COPY --from=kaniko /kaniko/ /kaniko/
RUN set -eu; ln -s /opt/shipline/dist/cli.js /usr/local/bin/shipline; \
    [ -n "$(ls -A /kaniko)" ] || rmdir /kaniko; mkdir -p /builds; \
    node --version; docker --version; buildah --version; git --version
ENV SHIPLINE_HOME=/opt/shipline \
    STORAGE_DRIVER=vfs \
    BUILDAH_ISOLATION=chroot \
    BUILDAH_FORMAT=docker
WORKDIR /builds
CMD ["bash"]
# The bundles and labels last: a new commit rebuilds only these two layers (each
# instruction after a cache miss is a container commit, seconds on vfs).
COPY dist/ /opt/shipline/dist/

ARG OCI_TITLE=shipline
ARG OCI_DESCRIPTION="shipline job image: node 24, git, docker CLI, buildah and the shipline steps"
ARG OCI_SOURCE=
ARG OCI_URL=
ARG OCI_VERSION=
ARG OCI_REVISION=
ARG OCI_CREATED=
ARG OCI_LICENSES=MIT
LABEL org.opencontainers.image.title="${OCI_TITLE}" \
      org.opencontainers.image.description="${OCI_DESCRIPTION}" \
      org.opencontainers.image.source="${OCI_SOURCE}" \
      org.opencontainers.image.url="${OCI_URL}" \
      org.opencontainers.image.version="${OCI_VERSION}" \
      org.opencontainers.image.revision="${OCI_REVISION}" \
      org.opencontainers.image.created="${OCI_CREATED}" \
      org.opencontainers.image.licenses="${OCI_LICENSES}"
