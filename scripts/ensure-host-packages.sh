#!/usr/bin/env bash
# Host tools the tests need: tcpd (tcpdmatch, the reference for the TCP wrappers evaluator) and
# debootstrap (the local stand-in images). Installed from Debian's packages when missing.
set -euo pipefail
missing=()
command -v tcpdmatch >/dev/null 2>&1 || [ -x /usr/sbin/tcpdmatch ] || missing+=(tcpd)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Please install: ${missing[*]} (Debian/Ubuntu packages)" >&2
  exit 1
fi
echo "==> installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
