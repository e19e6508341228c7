#!/usr/bin/env bash
# Build a local stand-in image (Debian with systemd as PID 1) with debootstrap and import it.
# Usage: images/build.sh IMAGE_NAME SUITE
# The image is labelled with a hash of its recipe (this script, packages.txt, the suite) and is
# rebuilt only when the recipe changes.
set -euo pipefail

name=$1
suite=$2
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

recipe=$( { cat "$here/build.sh" "$here/packages.txt"; echo "$suite $mirror"; } | sha256sum | cut -c1-16)
current=$(docker image inspect -f '{{ index .Config.Labels "serversec.recipe" }}' "$name" 2>/dev/null || true)
if [ "$current" = "$recipe" ]; then
  echo "==> image $name is current (recipe $recipe)"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  else
    echo "debootstrap is needed to build $name: install it (apt-get install debootstrap)" >&2
    exit 1
  fi
fi

packages=$(grep -vE '^\s*(#|$)' "$here/packages.txt" | paste -sd, -)
work=$(mktemp -d /var/tmp/serversec-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root

echo "==> debootstrap $suite into $root (image $name, recipe $recipe)"
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

# A container boots systemd without consoles, udev or first-boot questions.
chroot "$root" systemctl mask \
  getty@tty1.service serial-getty@console.service console-getty.service \
  systemd-udevd.service systemd-udev-trigger.service systemd-firstboot.service \
  systemd-resolved.service sys-kernel-debug.mount sys-kernel-tracing.mount \
  >/dev/null 2>&1 || true
# Daemons the scenarios run jailed must not also run from their distro units.
chroot "$root" systemctl disable lighttpd.service >/dev/null 2>&1 || true
rm -f "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
: >"$root/etc/machine-id"
echo "$name" >"$root/etc/hostname"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*

echo "==> importing $name"
tar -C "$root" -c . | docker import \
  --change 'CMD ["/sbin/init"]' \
  --change 'ENV container=docker' \
  --change "LABEL serversec.recipe=$recipe" \
  - "$name" >/dev/null
echo "==> built $name"
