#!/usr/bin/env bash
# Builds the image whose containers stand in for bare-metal Debian 12 servers in the
# provisioning tests (ProvisioningIT): a minimal root filesystem from debootstrap, with
# systemd as init, and python3 and sudo for Ansible as on a real server, turned into an
# image by `docker import`.
# The Debian mirror is the one this machine's own apt sources use.
#
# Usage: bash ansible/test/build-stand-in-image.sh IMAGE REV   (dev/services.sh ansible runs it)
set -euo pipefail

IMAGE=${1:?usage: build-stand-in-image.sh IMAGE REV}
REV=${2:?usage: build-stand-in-image.sh IMAGE REV}
SUITE=bookworm
PACKAGES=systemd,systemd-sysv,dbus,python3,sudo,ca-certificates,iproute2,procps
LOG=/var/log/gpufleet-debootstrap.log

log() { printf '[stand-in-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The first mirror serving $SUITE in the apt sources: deb822 files, then one-line lists.
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v suite="$SUITE" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "") { split(uris, u, " "); print u[1]; found = 1; exit }
        types = suites = uris = ""
      }
      /^[ \t]*$/ { flush(); next }
      /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
      /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
      END { if (!found) flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk -v suite="$SUITE" '
      $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }' "$f"
  done
}

[[ $(id -u) == 0 ]] || die "run as root (debootstrap needs it)"
command -v debootstrap >/dev/null || die "debootstrap is missing (bash dev/services.sh ansible installs it)"
mirror=$(debian_mirror | awk 'NR == 1')  # reads all: head could SIGPIPE the function under pipefail
[[ -n $mirror ]] || die "no Debian $SUITE entry in /etc/apt/sources.list{,.d/*} to take a mirror from"

# The root filesystem is built on disk (/var/tmp), not in /tmp, which may be a small or noexec
# tmpfs; one folder per run of this script, removed when it ends however it ends.
root=/var/tmp/gpufleet-stand-in-rootfs.$$
rm -rf "$root"
mkdir -p "$root"
trap 'rm -rf "$root"' EXIT
log "debootstrap $SUITE from $mirror (log: $LOG)"
if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$mirror" >"$LOG" 2>&1; then
  tail -n 20 "$LOG" >&2
  die "debootstrap failed (log above, full log: $LOG)"
fi
# No package cache or lists in the image; an empty machine id, so each container gets its own.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

log "importing $IMAGE"
tar -C "$root" --numeric-owner -cf - . |
  docker import \
    --change 'CMD ["/sbin/init"]' \
    --change 'ENV container=docker' \
    --change "LABEL org.gpufleet.image-rev=$REV" \
    --message "ansible/test/build-stand-in-image.sh: debootstrap $SUITE with $PACKAGES" \
    - "$IMAGE" >/dev/null
