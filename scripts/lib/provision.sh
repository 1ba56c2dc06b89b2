# shellcheck shell=bash
# Provides what the test suites need, or stops at once with the exact command to run.
# Sourced by scripts/test.sh; `provision suite` for `npm test`, `provision deploy` for
# `npm run test:deploy`. Every step is skipped when it is already done, so a prepared machine
# pays a few `docker image inspect` calls.
#
#   suite:  a Docker engine, a Redis image, Chromium, kubectl, promtool, systemd-analyze
#   deploy: a Docker engine, compose, and the relay's base image, a Redis image and an nginx
#           image, each pulled from a registry or, where none is reachable, built from this
#           machine's node and Debian packages (scripts/ci/build-*-image.sh)
#
# As root on Debian, missing packages are installed with apt-get and dockerd is started in the
# background. Anywhere else, nothing is installed: the missing pieces are listed with the
# command that provides them. Exports HUSH_REDIS_IMAGE, HUSH_CHROMIUM,
# TESTCONTAINERS_RYUK_DISABLED and, for deploy, HUSH_NODE_IMAGE and HUSH_LB_IMAGE where a local
# image replaces a registry one.

export DEBIAN_FRONTEND=noninteractive
# The suites remove their own containers (test/support/redis.ts); Ryuk's image may not be
# pullable.
export TESTCONTAINERS_RYUK_DISABLED="${TESTCONTAINERS_RYUK_DISABLED:-true}"

dockerd_log="${HUSH_DOCKERD_LOG:-/var/log/hush-dockerd.log}"
dockerd_wait_seconds="${HUSH_DOCKERD_WAIT:-60}"
pull_timeout_seconds="${HUSH_PULL_TIMEOUT:-120}"

log() { echo "provision: $*" >&2; }
die() {
  echo "provision: error: $*" >&2
  exit 1
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }
is_debian() { [[ -f /etc/debian_version ]] && command -v apt-get >/dev/null; }
can_install() { is_root && is_debian; }
have() { command -v "$1" >/dev/null 2>&1; }

# --- Debian packages ----------------------------------------------------------------------------

# Installs the packages in one apt-get run, keeping maintainer scripts from starting services.
apt_install() {
  [[ "$#" -gt 0 ]] || return 0
  log "apt-get install $*"
  local apt_log policy_created=false status=0
  apt_log="$(mktemp)"
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_created=true
  fi
  {
    apt-get update -qq &&
      apt-get install -y -qq --no-install-recommends "$@"
  } >"$apt_log" 2>&1 || status=$?
  [[ "$policy_created" == true ]] && rm -f /usr/sbin/policy-rc.d
  if [[ "$status" -ne 0 ]]; then
    cat "$apt_log" >&2
    rm -f "$apt_log"
    die "apt-get install $* failed (exit $status)"
  fi
  grep -E '^(W|E):' "$apt_log" >&2 || true
  rm -f "$apt_log"
}

# Each need is a command and the Debian package that provides it. Missing ones are installed
# together (root on Debian) or reported together with the command to run.
missing_packages=()
missing_hints=()
need_command() {
  local command="$1" package="$2" hint="$3"
  have "$command" && return 0
  missing_packages+=("$package")
  missing_hints+=("$hint")
}

install_or_stop() {
  [[ "${#missing_packages[@]}" -gt 0 ]] || return 0
  if can_install; then
    apt_install "${missing_packages[@]}"
    return 0
  fi
  {
    local joined
    joined="$(printf '%s; ' "${missing_hints[@]}")"
    echo "provision: missing: ${joined%; }"
    if is_debian; then
      echo "provision: run:  sudo apt-get install -y --no-install-recommends ${missing_packages[*]}"
    else
      echo "provision: install them (Debian packages: ${missing_packages[*]}) and run again"
    fi
  } >&2
  exit 1
}

# --- Docker engine ------------------------------------------------------------------------------
docker_ready() { docker info >/dev/null 2>&1; }

# Is dockerd (the given pid, or the one in its pid file) still alive?
dockerd_alive() {
  kill -0 "$1" 2>/dev/null && return 0
  [[ -s /var/run/docker.pid ]] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null
}

# Waits for the engine; returns 1 early if dockerd has exited, 2 on timeout.
wait_for_docker() {
  local pid="$1" waited=0
  while ((waited < dockerd_wait_seconds * 4)); do
    docker_ready && return 0
    dockerd_alive "$pid" || return 1
    sleep 0.25
    waited=$((waited + 1))
  done
  return 2
}

start_docker() {
  docker_ready && return 0
  if ! is_root || ! have dockerd; then
    docker info >&2 || true
    die "no Docker engine answers. Start it (sudo systemctl start docker, or Docker Desktop), or let this user use it (sudo usermod -aG docker $(id -un), then log in again), and run again"
  fi

  local pidfile=/var/run/docker.pid
  if [[ -s "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    # Somebody else is starting dockerd right now: wait for it rather than racing it.
    log "waiting for the running dockerd (pid $(cat "$pidfile"))"
    wait_for_docker "$(cat "$pidfile")" && return 0
    tail -n 50 "$dockerd_log" >&2 2>/dev/null || true
    die "dockerd (pid $(cat "$pidfile")) is running but does not answer; see $dockerd_log"
  fi
  rm -f "$pidfile"

  # The default works on this project's CI machine; the others cover sandboxes without
  # iptables/NAT, without overlayfs, or without bridge networking (the Redis test helper uses
  # host networking, so it works with all of them; the compose test needs bridge networks).
  local attempts=(
    ''
    '--iptables=false'
    '--iptables=false --storage-driver=vfs'
    '--iptables=false --ip-masq=false --bridge=none --storage-driver=vfs'
  )
  local flags pid status
  mkdir -p "$(dirname "$dockerd_log")"
  for flags in "${attempts[@]}"; do
    log "starting dockerd ${flags:-(default flags)}, log: $dockerd_log"
    echo "=== $(date -u +%FT%TZ) dockerd $flags" >>"$dockerd_log"
    # shellcheck disable=SC2086 # $flags is a list of words
    setsid dockerd $flags </dev/null >>"$dockerd_log" 2>&1 &
    pid=$!
    status=0
    wait_for_docker "$pid" || status=$?
    if [[ "$status" -eq 0 ]]; then
      log "dockerd is up (pid $pid)"
      return 0
    fi
    if [[ "$status" -eq 2 ]]; then
      tail -n 50 "$dockerd_log" >&2
      kill "$pid" 2>/dev/null || true
      die "dockerd (pid $pid) did not answer within ${dockerd_wait_seconds}s; log: $dockerd_log"
    fi
    log "dockerd ${flags:-(default flags)} exited:"
    tail -n 5 "$dockerd_log" >&2
    rm -f "$pidfile"
  done
  tail -n 50 "$dockerd_log" >&2
  die "dockerd could not be started with any configuration; log: $dockerd_log"
}

# test/support/redis.ts labels its containers hush-test=1 with the owning process id and host.
# Only containers whose process is gone are removed, so concurrent test runs are left alone.
remove_leftovers() {
  local id pid host leftovers=()
  while read -r id pid host; do
    [[ -n "$id" ]] || continue
    if [[ "$host" != "$(hostname)" || ! "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
      leftovers+=("$id")
    fi
  done < <(docker ps --all --filter label=hush-test=1 \
    --format '{{.ID}} {{.Label "hush-test.pid"}} {{.Label "hush-test.host"}}')
  if [[ "${#leftovers[@]}" -gt 0 ]]; then
    log "removing ${#leftovers[@]} leftover test container(s)"
    docker rm --force --volumes "${leftovers[@]}" >/dev/null
  fi
}

# test/deploy/support/compose.ts names its compose projects hush-deploy-<pid>: remove those of
# processes that no longer exist (a deploy test that was killed before its teardown).
remove_leftover_projects() {
  local project pid
  while read -r project; do
    pid="${project#hush-deploy-}"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && continue
    log "removing leftover compose project $project"
    docker ps --all --quiet --filter "label=com.docker.compose.project=$project" |
      xargs -r docker rm --force --volumes >/dev/null
    docker network ls --quiet --filter "label=com.docker.compose.project=$project" |
      xargs -r docker network rm >/dev/null
  done < <(
    {
      docker ps --all --format '{{.Label "com.docker.compose.project"}}'
      docker network ls --format '{{.Label "com.docker.compose.project"}}'
    } | grep -E '^hush-deploy-' | sort -u
  )
}

# --- Images -------------------------------------------------------------------------------------

# Is the image here, or can it be pulled (a registry is reachable)?
image_available() {
  docker image inspect "$1" >/dev/null 2>&1 && return 0
  log "pulling $1"
  timeout "$pull_timeout_seconds" docker pull --quiet "$1" >/dev/null 2>&1
}

# The default a `${VAR:-default}` in docker-compose.yml gives, e.g. compose_default HUSH_LB_IMAGE.
compose_default() {
  grep -oE "\\\$\\{$1:-[^}]+\\}" docker-compose.yml | head -1 | sed -E "s/^\\\$\\{$1:-(.*)\\}$/\\1/"
}

# Redis for testcontainers and compose: HUSH_REDIS_IMAGE, else hush-redis:local built from
# Debian's redis-server when it is installed, else the public image when it can be pulled.
plan_redis() {
  if [[ -n "${HUSH_REDIS_IMAGE:-}" && "$HUSH_REDIS_IMAGE" != hush-redis:local ]]; then return 0; fi
  if [[ -z "${HUSH_REDIS_IMAGE:-}" ]] && ! have redis-server; then
    if docker_ready && image_available "$(compose_default HUSH_REDIS_IMAGE)"; then
      export HUSH_REDIS_IMAGE="$public"
      return 0
    fi
  fi
  export HUSH_REDIS_IMAGE=hush-redis:local
  need_command redis-server redis-server 'redis-server (for the local Redis image)'
}

# Chromium for the browser tests: HUSH_CHROMIUM, else the first Chromium or Chrome on PATH.
plan_chromium() {
  if [[ -n "${HUSH_CHROMIUM:-}" ]]; then
    [[ -x "$HUSH_CHROMIUM" ]] || die "HUSH_CHROMIUM=$HUSH_CHROMIUM is not an executable"
    return 0
  fi
  local candidate
  for candidate in chromium chromium-browser google-chrome-stable google-chrome; do
    if have "$candidate"; then
      HUSH_CHROMIUM="$(command -v "$candidate")"
      export HUSH_CHROMIUM
      return 0
    fi
  done
  need_command chromium chromium 'Chromium (or set HUSH_CHROMIUM to a Chromium/Chrome binary)'
}

plan_docker() {
  if ! have docker; then
    need_command docker docker.io 'Docker'
    return 0
  fi
  docker_ready || have dockerd || ! is_root || need_command dockerd docker.io 'a Docker engine'
}

# Which compose: the plugin, else Debian's docker-compose.
plan_compose() {
  docker compose version >/dev/null 2>&1 && return 0
  need_command docker-compose docker-compose 'Docker Compose'
}

# The relay's base image: HUSH_NODE_IMAGE, else the Dockerfile's default when it can be pulled,
# else hush-node:local built from this machine's node.
provide_node_image() {
  [[ -n "${HUSH_NODE_IMAGE:-}" && "$HUSH_NODE_IMAGE" != hush-node:local ]] && return 0
  if [[ -z "${HUSH_NODE_IMAGE:-}" ]] && image_available "$(compose_default HUSH_NODE_IMAGE)"; then
    return 0
  fi
  export HUSH_NODE_IMAGE=hush-node:local
  scripts/ci/build-node-image.sh "$HUSH_NODE_IMAGE" >&2
}

# The load balancer's image: HUSH_LB_IMAGE, else hush-nginx:local from Debian's nginx when it is
# installed, else the public image when it can be pulled.
plan_lb() {
  [[ -n "${HUSH_LB_IMAGE:-}" && "$HUSH_LB_IMAGE" != hush-nginx:local ]] && return 0
  if [[ -z "${HUSH_LB_IMAGE:-}" ]] && ! have nginx && [[ ! -x /usr/sbin/nginx ]]; then
    if docker_ready && image_available "$(compose_default HUSH_LB_IMAGE)"; then return 0; fi
  fi
  export HUSH_LB_IMAGE=hush-nginx:local
  [[ -x /usr/sbin/nginx ]] || need_command nginx nginx 'nginx (for the local load balancer image)'
}

provision() {
  local mode="$1"
  plan_docker
  case "$mode" in
    suite)
      plan_chromium
      # HUSH_KUBECTL, HUSH_PROMTOOL, HUSH_SYSTEMD_ANALYZE name other binaries for the tests.
      [[ -n "${HUSH_KUBECTL:-}" ]] || need_command kubectl kubernetes-client 'kubectl (renders k8s/)'
      [[ -n "${HUSH_PROMTOOL:-}" ]] || need_command promtool prometheus 'promtool (checks deploy/prometheus/)'
      [[ -n "${HUSH_SYSTEMD_ANALYZE:-}" ]] ||
        need_command systemd-analyze systemd 'systemd-analyze (verifies deploy/systemd/)'
      ;;
    deploy)
      plan_compose
      plan_lb
      # build-node-image.sh copies the CA bundle into hush-node:local (npm trusts it there).
      if [[ ! -s /etc/ssl/certs/ca-certificates.crt ]]; then
        missing_packages+=(ca-certificates)
        missing_hints+=('CA certificates')
      fi
      ;;
    *) die "unknown mode $mode" ;;
  esac
  plan_redis
  install_or_stop
  start_docker
  [[ "$HUSH_REDIS_IMAGE" == hush-redis:local ]] && scripts/ci/build-redis-image.sh "$HUSH_REDIS_IMAGE" >&2
  remove_leftovers
  if [[ "$mode" == deploy ]]; then
    remove_leftover_projects
    [[ "${HUSH_LB_IMAGE:-}" == hush-nginx:local ]] && scripts/ci/build-nginx-image.sh "$HUSH_LB_IMAGE" >&2
    provide_node_image
  fi
  log "node $(node --version), $(docker version --format 'docker {{.Server.Version}}'), redis image ${HUSH_REDIS_IMAGE}${HUSH_CHROMIUM:+, $("$HUSH_CHROMIUM" --version 2>/dev/null || echo "chromium $HUSH_CHROMIUM")}"
}
