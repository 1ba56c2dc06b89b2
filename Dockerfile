# Hush relay image: one replica serving /ws, /healthz, /readyz and the web client on port 8080,
# and Prometheus metrics on their own port (HUSH_METRICS_PORT, 9464). Configure it with
# environment variables (see apps/relay/src/config).
#
#   docker build -t hush-relay .
#   docker build --build-arg NODE_IMAGE=hush-node:local -t hush-relay:local .   (no registry:
#     scripts/ci/build-node-image.sh builds hush-node:local from this machine's node first)
#
# Written for the classic builder as well as BuildKit: no RUN --mount, no heredocs, and RUN
# lines call only node and npm, which is all the scratch-built hush-node image has.

# Node 24 is an LTS line supported until 2028-04 (Node 20 reached its end of life in 2026-04).
# The relay also runs on Node 20.19+ (package.json engines), which is what the tests use.
ARG NODE_IMAGE=node:24-trixie-slim

# --- deps: the relay's production dependencies, nothing of the web client, CLI or tooling ------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/protocol/package.json libs/protocol/
COPY libs/crypto/package.json libs/crypto/
COPY libs/client/package.json libs/client/
COPY apps/relay/package.json apps/relay/
COPY apps/web/package.json apps/web/
COPY apps/cli/package.json apps/cli/
COPY bench/package.json bench/
# No install scripts: the only production one (msgpackr-extract) would compile a fallback that
# its prebuilt optional package already provides.
RUN npm ci --omit=dev --workspace @hush/relay --ignore-scripts --no-audit --no-fund

# --- build: every workspace's dependencies, then relay, libraries and web client ---------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/protocol/package.json libs/protocol/
COPY libs/crypto/package.json libs/crypto/
COPY libs/client/package.json libs/client/
COPY apps/relay/package.json apps/relay/
COPY apps/web/package.json apps/web/
COPY apps/cli/package.json apps/cli/
COPY bench/package.json bench/
RUN npm ci --no-audit --no-fund
COPY . .
# The web client's dist may not exist (a build without it serves no page at /); the runtime
# stage copies the directory either way.
RUN npm run build \
 && node -e "require('node:fs').mkdirSync('apps/web/dist', { recursive: true })"

# --- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080
WORKDIR /app
# The whole deps tree: root and workspace package.json files, node_modules, and the nested
# workspace node_modules npm makes when versions conflict (apps/relay/node_modules/nanoid).
# node_modules/@hush/* are symlinks to ../../libs/* and ../../apps/*; with each workspace's
# package.json and dist at the same paths as in the repository, they resolve.
COPY --from=deps /app ./
COPY --from=build /app/libs/protocol/dist libs/protocol/dist
COPY --from=build /app/libs/crypto/dist libs/crypto/dist
COPY --from=build /app/apps/relay/dist apps/relay/dist
# Found by the relay at apps/relay/dist/../../web/dist (its default web root).
COPY --from=build /app/apps/web/dist apps/web/dist
# Files stay root-owned and read-only to the relay: it writes nothing to disk. uid 1000 is the
# `node` user of the official images (and of hush-node:local); numeric so Kubernetes can check
# runAsNonRoot.
USER 1000:1000
EXPOSE 8080 9464
STOPSIGNAL SIGTERM
# Liveness only: readiness (/readyz) is for load balancers, and a Redis outage must not get a
# healthy replica restarted. HTTPS when the relay serves TLS itself (HUSH_TLS_CERT).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "const tls = Boolean(process.env.HUSH_TLS_CERT); require(tls ? 'node:https' : 'node:http').get({ host: '127.0.0.1', port: process.env.PORT || 8080, path: '/healthz', rejectUnauthorized: false }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
CMD ["node", "apps/relay/dist/main.js"]
