#!/usr/bin/env bash
# Builds a minimal Node.js base image FROM scratch out of this machine's node binary and npm,
# plus the shared libraries they link against, so the project's Dockerfile can be built where
# no image registry is reachable:
#
#   scripts/ci/build-node-image.sh [tag]      (default tag: hush-node:local)
#   docker build --build-arg NODE_IMAGE=hush-node:local -t hush-relay:local .
#
# The image mirrors the layout of the official node images where the Dockerfile relies on it:
# node and npm in /usr/local/bin, a `node` user with uid/gid 1000, /tmp world-writable. It also
# carries /bin/sh (npm runs scripts and Docker runs `RUN` lines through it) and /usr/bin/env
# (npm's and every package bin's `#!/usr/bin/env node`), and this machine's CA bundle, which
# npm and node are told to trust: the npm registry may only be reachable through a TLS proxy
# whose CA is in that bundle. Nothing else (no coreutils, no package manager).
#
# The build is skipped when an image with this tag already carries the same fingerprint
# (sha256 of node, npm's package.json, sh, env, the CA bundle and this script) in its
# `hush.node.fingerprint` label.
set -euo pipefail

tag="${1:-hush-node:local}"
die() {
  echo "build-node-image: $*" >&2
  exit 1
}

node_bin="$(command -v node || true)"
npm_bin="$(command -v npm || true)"
[[ -n "$node_bin" && -n "$npm_bin" ]] || die 'node/npm not found'
node_real="$(readlink -f "$node_bin")"
# npm's bin is a symlink to <npm package>/bin/npm-cli.js (Debian, NodeSource and nvm alike).
npm_dir="$(dirname "$(dirname "$(readlink -f "$npm_bin")")")"
[[ -f "$npm_dir/package.json" && -f "$npm_dir/bin/npm-cli.js" ]] ||
  die "cannot locate npm's package directory (got $npm_dir)"
sh_real="$(readlink -f /bin/sh)"
env_real="$(readlink -f "$(command -v env)")"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[[ -s "$ca_bundle" ]] || die "$ca_bundle is missing (apt-get install ca-certificates)"

fingerprint="$(cat "$node_real" "$npm_dir/package.json" "$sh_real" "$env_real" "$ca_bundle" \
  "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
existing="$(docker image inspect --format '{{ index .Config.Labels "hush.node.fingerprint" }}' \
  "$tag" 2>/dev/null || true)"
if [[ "$existing" == "$fingerprint" ]]; then
  echo "build-node-image: $tag is up to date"
  exit 0
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
root="$context/rootfs"
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/etc" \
  "$root/usr/bin" "$root/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/home/node" "$root/root"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

cp "$node_real" "$root/usr/local/bin/node"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp "$sh_real" "$root/bin/sh"
cp "$env_real" "$root/usr/bin/env"
cp -L "$ca_bundle" "$root$ca_bundle"

# Every library ldd lists (absolute paths, including the dynamic loader), copied to the same
# path with symlinks resolved. linux-vdso has no file and is skipped.
binaries=("$node_real" "$sh_real" "$env_real")
if ldd "${binaries[@]}" | grep -q 'not found'; then
  ldd "${binaries[@]}" >&2
  die 'missing shared libraries'
fi
mapfile -t libraries < <(ldd "${binaries[@]}" | grep -oE '/[^ ]+\.so[^ ]*' | sort -u)
[[ "${#libraries[@]}" -gt 0 ]] || die "ldd listed no libraries for $node_real"
# Native addons in node_modules (rollup's, esbuild's, msgpackr's) link against more of glibc than
# node does: take the rest of glibc's runtime libraries from libc's own directory, as a distro
# base image would have them.
libc_dir="$(dirname "$(printf '%s\n' "${libraries[@]}" | grep -m1 '/libc\.so\.')")"
for name in libc libm libdl libpthread librt libresolv libutil libanl libnss_files libnss_dns; do
  for library in "$libc_dir/$name".so.*; do
    [[ -f "$library" ]] && libraries+=("$library")
  done
done
mapfile -t libraries < <(printf '%s\n' "${libraries[@]}" | sort -u)
for library in "${libraries[@]}"; do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done

# Identity files so libc lookups (getpwuid, getaddrinfo) behave; `node` is uid 1000 as in the
# official images, so `USER 1000:1000` means the same user in both.
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000:node:/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/nonexistent
EOF
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chown 1000:1000 "$root/home/node"
# npm's global config for prefix /usr/local.
printf 'cafile=%s\nfund=false\naudit=false\nupdate-notifier=false\n' "$ca_bundle" \
  >"$root/usr/local/etc/npmrc"

node_version="$("$node_real" --version)"
npm_version="$("$node_real" "$npm_dir/bin/npm-cli.js" --version 2>/dev/null)"
cat >"$context/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin \\
    NODE_VERSION=${node_version#v} \\
    NODE_EXTRA_CA_CERTS=$ca_bundle
LABEL hush.node.fingerprint="$fingerprint" hush.node.version="$node_version" hush.npm.version="$npm_version"
CMD ["node"]
EOF

echo "build-node-image: building $tag (node $node_version, npm $npm_version, ${#libraries[@]} libraries)"
if ! output="$(docker build --quiet --tag "$tag" "$context" 2>&1)"; then
  echo "$output" >&2
  die 'docker build failed'
fi

# Smoke test: node, npm and sh must start and find their libraries inside the image.
if ! docker run --rm "$tag" sh -c 'node --version && npm --version' >/dev/null; then
  die "$tag does not run node, npm and sh"
fi
docker image inspect --format "build-node-image: built {{ index .RepoTags 0 }} ({{ .Size }} bytes)" "$tag"
