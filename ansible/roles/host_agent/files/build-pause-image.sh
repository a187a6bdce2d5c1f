#!/bin/sh
# Builds the pod sandbox ("pause") image on this host from Debian's busybox-static, so that the
# agent never pulls one by a mutable tag from a registry. Prints "built" when it made the image,
# nothing when the image of this busybox version is already there.
# Usage: build-pause-image.sh IMAGE
set -eu
image=$1
busybox=/bin/busybox
version=$(dpkg-query -W -f='${Version}' busybox-static)
have=$(docker image inspect --format '{{index .Config.Labels "org.gpufleet.busybox"}}' "$image" 2>/dev/null || true)
[ "$have" = "$version" ] && exit 0
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/etc"
cp "$busybox" "$root/bin/busybox"
for applet in sh sleep; do ln -s busybox "$root/bin/$applet"; done
printf 'root:x:0:0:root:/:/bin/sh\n' >"$root/etc/passwd"
# PID 1 of the sandbox: holds the pod's namespaces, exits at once on TERM.
tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
  docker import \
    --change 'CMD ["sh", "-c", "trap \"exit 0\" TERM INT; sleep 2147483647 & wait"]' \
    --change "LABEL org.gpufleet.busybox=$version" \
    --message "gpufleet pause image from busybox-static $version" \
    - "$image" >/dev/null
echo built
