#!/usr/bin/env bash
# Builds a minimal nginx image FROM scratch out of this machine's Debian nginx (apt-get install
# nginx) plus the shared libraries it links against, for the compose load balancer where no
# image registry is reachable:
#
#   scripts/ci/build-nginx-image.sh [tag]      (default tag: hush-nginx:local)
#
# The image runs `nginx -g 'daemon off;'` (the official images' command) as uid/gid 101 (the `nginx` user of the official
# images) with /etc/nginx/nginx.conf as its configuration: mount deploy/nginx/nginx.conf there.
# Debian's nginx logs errors to stderr from the start (--error-log-path=stderr); with a
# configuration that keeps its pid and temp files in /tmp, a read-only root filesystem with a
# tmpfs on /tmp is enough. The built-in nginx.conf answers 404
# to everything, so the image also starts without a mounted configuration.
# The build is skipped when an image with this tag already carries the same fingerprint (sha256
# of nginx, mime.types and this script) in its `hush.nginx.fingerprint` label.
set -euo pipefail

tag="${1:-hush-nginx:local}"
die() {
  echo "build-nginx-image: $*" >&2
  exit 1
}

nginx_bin="$(command -v nginx || true)"
[[ -n "$nginx_bin" ]] || nginx_bin=/usr/sbin/nginx
[[ -x "$nginx_bin" ]] || die 'nginx not found (apt-get install nginx)'
nginx_real="$(readlink -f "$nginx_bin")"
mime_types=/etc/nginx/mime.types
[[ -s "$mime_types" ]] || die "$mime_types is missing (apt-get install nginx-common)"

fingerprint="$(cat "$nginx_real" "$mime_types" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
existing="$(docker image inspect --format '{{ index .Config.Labels "hush.nginx.fingerprint" }}' \
  "$tag" 2>/dev/null || true)"
if [[ "$existing" == "$fingerprint" ]]; then
  echo "build-nginx-image: $tag is up to date"
  exit 0
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
root="$context/rootfs"
mkdir -p "$root/usr/sbin" "$root/etc/nginx" "$root/tmp" "$root/var/log/nginx"
chmod 1777 "$root/tmp"
cp "$nginx_real" "$root/usr/sbin/nginx"
cp "$mime_types" "$root/etc/nginx/mime.types"

# Every library ldd lists (absolute paths, including the dynamic loader), copied to the same
# path with symlinks resolved. linux-vdso has no file and is skipped.
if ldd "$nginx_real" | grep -q 'not found'; then
  ldd "$nginx_real" >&2
  die 'missing shared libraries'
fi
mapfile -t libraries < <(ldd "$nginx_real" | grep -oE '/[^ ]+\.so[^ ]*' | sort -u)
[[ "${#libraries[@]}" -gt 0 ]] || die "ldd listed no libraries for $nginx_real"
# nginx resolves upstream host names through getaddrinfo, which loads the NSS modules.
libc_dir="$(dirname "$(printf '%s\n' "${libraries[@]}" | grep -m1 '/libc\.so\.')")"
for library in "$libc_dir"/libnss_files.so.* "$libc_dir"/libnss_dns.so.* "$libc_dir"/libresolv.so.*; do
  [[ -f "$library" ]] && libraries+=("$library")
done
for library in "${libraries[@]}"; do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done

# Identity files so libc lookups (getpwnam, getaddrinfo) behave; uid/gid 101 as in the
# official nginx images, so `user: 101:101` means the same user with either image.
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/nonexistent
nginx:x:101:101:nginx:/nonexistent:/nonexistent
nobody:x:65534:65534:nobody:/nonexistent:/nonexistent
EOF
printf 'root:x:0:\nnginx:x:101:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
cat >"$root/etc/nginx/nginx.conf" <<'EOF'
# Placeholder: mount a real configuration at /etc/nginx/nginx.conf.
pid /tmp/nginx.pid;
events {}
http {
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    access_log off;
    server {
        listen 8080;
        return 404;
    }
}
EOF

version="$("$nginx_real" -v 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)"
cat >"$context/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/sbin
LABEL hush.nginx.fingerprint="$fingerprint" hush.nginx.version="$version"
USER 101:101
EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
EOF

echo "build-nginx-image: building $tag (nginx $version, ${#libraries[@]} libraries)"
if ! output="$(docker build --quiet --tag "$tag" "$context" 2>&1)"; then
  echo "$output" >&2
  die 'docker build failed'
fi

# Smoke test: the binary must start, find its libraries and accept the built-in configuration.
if ! docker run --rm --read-only --tmpfs /tmp "$tag" nginx -t >/dev/null 2>&1; then
  docker run --rm --read-only --tmpfs /tmp "$tag" nginx -t >&2 || true
  die "$tag does not run nginx"
fi
docker image inspect --format "build-nginx-image: built {{ index .RepoTags 0 }} ({{ .Size }} bytes)" "$tag"
