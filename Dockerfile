# syntax=docker/dockerfile:1
# One recipe for every service. The seven Python services are picked by the SERVICE build
# arg of the default (last) stage: they share one shape (services/<name>/main.py with a
# create_app() factory), one lock file and one dependency set, so seven copies of this
# file would only drift apart. Shipping, written in Go, is the stage of its own name
# (--target shipping): a static binary on an empty base. docker-compose.yml builds each
# service this way; by hand:
#
#   docker build --build-arg SERVICE=catalog -t shop/catalog .
#   docker build --target shipping -t shop/shipping .
#
# The storefront (storefront/) is built here too, in a Node stage, and served by the
# gateway (services/gateway/storefront.py); no Node is needed on the building machine.
# BuildKit (needed for the cache mounts) builds only the stages a target depends on:
# neither Go for a Python image nor Python for shipping's.

# --- dependencies: only pyproject.toml and uv.lock invalidate this stage -------------
FROM python:3.11.14-slim-trixie AS deps
# uv from PyPI, pinned to the version that wrote uv.lock; it stays in this stage.
RUN pip install --no-cache-dir --root-user-action=ignore uv==0.13.9
WORKDIR /app
# Bytecode compiled now, not by each container at start; files copied out of the cache
# mount rather than hard-linked to it; the image's own interpreter, never a download.
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
COPY pyproject.toml uv.lock ./
# --frozen: exactly what uv.lock says, or fail; --no-dev: no test or lint tools.
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev

# --- the storefront: npm ci from the lock file, then the Vite build into dist/ ------
# An exact Node within storefront/package.json's engines (Vite needs >= 20.19), on the
# Debian of the Python base (glibc: npm ci installs the lock file's gnu native bindings).
FROM node:22.23.4-trixie-slim AS storefront
WORKDIR /storefront
# Only the manifest and the lock file invalidate the install, not every source edit.
COPY storefront/package.json storefront/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --loglevel=error
COPY storefront/index.html storefront/tsconfig.json storefront/vite.config.ts ./
COPY storefront/src/ src/
# Type-checks, then writes dist/: index.html and assets/ (Vite's default outDir).
RUN npm run build

# --- shipping (Go): a static binary from its own go.mod and go.sum -----------------
# An exact release of the Go services/shipping/go.mod is written in (its `go` line's
# 1.26, no older than that line), on the Debian of the other bases. GOTOOLCHAIN=local: a
# go.mod asking for a newer Go fails the build here rather than downloading a toolchain.
# CGO off: the binary needs no libc, so the image needs no distribution.
FROM golang:1.26.8-trixie AS shipping-build
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath
WORKDIR /src
# Only the module files invalidate the download of the dependencies (from the Go module
# proxy, checked against go.sum), not every source edit.
COPY services/shipping/go.mod services/shipping/go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY services/shipping/ ./
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/shipping .

# --- shipping's image: the binary and the event contracts, nothing else -------------
FROM scratch AS shipping
# For an https trace collector; Debian's bundle, from the build stage.
COPY --from=shipping-build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=shipping-build /out/shipping /usr/local/bin/
WORKDIR /app
# The JSON Schemas shipping validates every event against, consumed and published
# (contracts/events; CONTRACTS_DIR's default is this folder under the working directory,
# set here absolute so that the image does not depend on it).
COPY contracts/events/*.schema.json contracts/events/
# Every interface of the container (compose's sidecar shares its network namespace, a
# pod's probes come from the kubelet), on dapr.yaml's app port for shipping (a test holds
# the two together).
ENV APP_HOST=0.0.0.0 \
    APP_PORT=8107 \
    CONTRACTS_DIR=/app/contracts/events
# The same numeric uid as the Python images, for Kubernetes' runAsNonRoot.
USER 10001:10001
EXPOSE 8107
# No shell or curl here: the binary asks its own /healthz on APP_PORT.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/shipping", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/shipping"]

# --- the service ------------------------------------------------------------------
FROM python:3.11.14-slim-trixie
# A fixed numeric uid, so that Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 shop \
    && useradd --system --uid 10001 --gid shop --no-create-home --shell /usr/sbin/nologin shop
WORKDIR /app
ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONPATH=/app/libs:/app/services \
    PYTHONUNBUFFERED=1
COPY --from=deps /app/.venv .venv
COPY libs/ libs/
# The built storefront (about 50 kB), where the gateway's STOREFRONT_DIR default
# (storefront/dist, from the working directory /app) finds it. Every image gets it, not
# only the gateway's: copied before ARG SERVICE, it is one layer shared by all seven, and
# the alternative, a copy only when SERVICE is gateway, needs a stage per service (or a
# bind mount, which builds the Node stage for every image anyway) for 50 kB of public
# files that only the gateway reads.
COPY --from=storefront /storefront/dist storefront/dist
# Declared only now, so that every layer above is built once and shared by all seven
# images.
ARG SERVICE
# Only the chosen service: services never import each other, and here they cannot.
COPY services/${SERVICE}/ services/${SERVICE}/
# The app port is the service's appPort in dapr.yaml, looked up here so that dapr.yaml
# stays the one place app ports are set (tests hold docker-compose.yml to it).
RUN --mount=type=bind,source=dapr.yaml,target=/tmp/dapr.yaml python - "${SERVICE}" > port <<'EOF'
import pathlib, sys, yaml
service = sys.argv[1]
apps = {app["appID"]: app["appPort"] for app in yaml.safe_load(open("/tmp/dapr.yaml"))["apps"]}
if service not in apps or not pathlib.Path(f"services/{service}/main.py").is_file():
    sys.exit(f"no Python service {service!r}: pass --build-arg SERVICE=<a folder of services/ "
             "with a main.py>; shipping (Go) is built with --target shipping")
print(apps[service])
EOF

ENV SERVICE=${SERVICE}
USER 10001:10001
# Documentation only: each image listens on its own service's port, one of dapr.yaml's.
EXPOSE 8100-8106
# /healthz answers once the app serves, which is after it has found its sidecar (within
# dapr_startup_timeout_seconds, 60 s): the start period covers that wait. Slim has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; port = os.environ.get('PORT') or open('/app/port').read().strip(); r.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)"]
# The shell only expands the service and its port (PORT in the environment overrides
# dapr.yaml's), then exec hands PID 1 to uvicorn, so that docker stop's SIGTERM reaches it.
ENTRYPOINT ["/bin/sh", "-c", "exec uvicorn --factory \"${SERVICE}.main:create_app\" --host 0.0.0.0 --port \"${PORT:-$(cat /app/port)}\" --no-access-log"]
