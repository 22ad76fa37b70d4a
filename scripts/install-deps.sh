#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs everything hadirector needs to build and test, from Debian's packages.
# Idempotent; run as root on Debian 12 (bookworm).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential cmake pkg-config ninja-build libssl-dev
  libnl-3-dev libnl-genl-3-dev libnl-route-3-dev libnl-nf-3-dev
  libev-dev libcurl4-openssl-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev googletest libsystemd-dev libmicrohttpd-dev libnftables-dev
  clang libclang-rt-14-dev
  iproute2 iputils-arping iputils-ping procps psmisc curl python3 openssl nftables
  keepalived tshark lintian man-db rpm systemd-container dpkg-dev fakeroot
  prometheus dnsmasq-base bird2 conntrackd
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The IPVS test VM (Debian's kernel under qemu) has its own list.
if [[ -x "$(dirname "$0")/install-vm-deps.sh" ]]; then
  "$(dirname "$0")/install-vm-deps.sh"
fi
