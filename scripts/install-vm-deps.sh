#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the host tools the IPVS test VM (tests/vm/run-in-vm.sh) needs:
# qemu (TCG is enough, no KVM required), busybox-static for the guest
# userland, kmod (modprobe --show-depends to order the ip_vs modules),
# ipvsadm + iproute2 (copied into the guest), cpio (initramfs).
#
# Debian's kernel itself is NOT installed on the host: run-in-vm.sh fetches
# it lazily with `apt-get download` into ${HD_VM_CACHE:-/var/cache/hadirector-vm}.
# Pass --fetch-kernel to do that fetch now (e.g. to warm a CI cache).
#
# Idempotent; run as root on Debian 12 (bookworm).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PKGS=(
  qemu-system-x86 busybox-static kmod ipvsadm iproute2 cpio
  gzip xz-utils coreutils findutils util-linux dash bash
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-vm-deps: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ "${1:-}" == "--fetch-kernel" ]]; then
  exec "$(dirname "$0")/../tests/vm/run-in-vm.sh" --fetch-kernel
fi
