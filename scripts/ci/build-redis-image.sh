#!/usr/bin/env bash
# Builds a minimal Redis image FROM scratch out of this machine's Debian redis-server and
# redis-cli plus the shared libraries they link against. No image registry is contacted.
#
#   scripts/ci/build-redis-image.sh [tag]      (default tag: hush-redis:local)
#
# The image runs `redis-server --save '' --appendonly no --protected-mode no --bind 0.0.0.0`
# and appends any container arguments, e.g. `docker run hush-redis:local --port 7001`.
# The build is skipped when an image with this tag already carries the same fingerprint
# (sha256 of redis-server, redis-cli and this script) in its `hush.redis.fingerprint` label.
set -euo pipefail

tag="${1:-hush-redis:local}"
server="$(command -v redis-server || true)"
cli="$(command -v redis-cli || true)"
if [[ -z "$server" || -z "$cli" ]]; then
  echo "build-redis-image: redis-server/redis-cli not found (apt-get install redis-server)" >&2
  exit 1
fi

# Debian's /usr/bin/redis-server is a symlink to redis-check-rdb, and Redis picks its mode
# from argv[0]: resolve the real file but keep the name redis-server inside the image.
server_real="$(readlink -f "$server")"
cli_real="$(readlink -f "$cli")"
fingerprint="$(cat "$server_real" "$cli_real" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"

existing="$(docker image inspect --format '{{ index .Config.Labels "hush.redis.fingerprint" }}' \
  "$tag" 2>/dev/null || true)"
if [[ "$existing" == "$fingerprint" ]]; then
  echo "build-redis-image: $tag is up to date"
  exit 0
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
root="$context/rootfs"
mkdir -p "$root/usr/bin" "$root/data" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
chmod 0777 "$root/data"
cp "$server_real" "$root/usr/bin/redis-server"
cp "$cli_real" "$root/usr/bin/redis-cli"

# Every library ldd lists (absolute paths, including the dynamic loader), copied to the same
# path with symlinks resolved. linux-vdso has no file and is skipped.
if ldd "$server_real" "$cli_real" | grep -q 'not found'; then
  ldd "$server_real" "$cli_real" >&2
  echo "build-redis-image: missing shared libraries" >&2
  exit 1
fi
mapfile -t libraries < <(
  ldd "$server_real" "$cli_real" | grep -oE '/[^ ]+\.so[^ ]*' | sort -u
)
if [[ "${#libraries[@]}" -eq 0 ]]; then
  echo "build-redis-image: ldd listed no libraries for $server_real" >&2
  exit 1
fi
for library in "${libraries[@]}"; do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done
# Minimal identity files so libc lookups (getpwuid, getaddrinfo) behave.
printf 'root:x:0:0:root:/data:/nonexistent\nnobody:x:65534:65534:nobody:/nonexistent:/nonexistent\n' \
  >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"

version="$("$server" --version | grep -oE 'v=[^ ]+' | cut -d= -f2)"
cat >"$context/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/bin
WORKDIR /data
LABEL hush.redis.fingerprint="$fingerprint" hush.redis.version="$version"
EXPOSE 6379
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/redis-server", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--bind", "0.0.0.0"]
EOF

echo "build-redis-image: building $tag (redis $version, ${#libraries[@]} libraries)"
if ! output="$(docker build --quiet --tag "$tag" "$context" 2>&1)"; then
  echo "$output" >&2
  echo "build-redis-image: docker build failed" >&2
  exit 1
fi

# Smoke test: the binary must start and find its libraries inside the image.
if ! docker run --rm --entrypoint /usr/bin/redis-server "$tag" --version >/dev/null; then
  echo "build-redis-image: $tag does not run redis-server" >&2
  exit 1
fi
docker image inspect --format "build-redis-image: built {{ index .RepoTags 0 }} ({{ .Size }} bytes)" "$tag"
