#!/usr/bin/env bash
# Make sure a Docker engine answers. On a Debian-family host where we are root and none runs,
# install Debian's docker.io and start dockerd in the background (these hosts have no systemd).
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
  echo "No Docker engine answers. Install and start Docker (e.g. 'apt-get install docker.io'" >&2
  echo "and start dockerd), or run as root on a Debian/Ubuntu host so this script can." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "==> installing Debian's docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

echo "==> starting dockerd in the background (log: /var/log/dockerd.log)"
nohup dockerd >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
echo "dockerd did not answer within 60s; see /var/log/dockerd.log" >&2
exit 1
