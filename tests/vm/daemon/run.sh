#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The daemon programming IPVS in a real kernel (Debian's, under qemu): every
# shape read back with ipvsadm, adoption on restart, one-change reload, drift
# repair, foreign services, a rejected reload, cleanup on stop.
# usage: run.sh PATH/TO/hadirector PATH/TO/hadirector-drill (its httpd serves the checks).
# Exit: the guest's status; 77 = skipped (tools missing).
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
. "$HERE/../require-tools.sh"
require_tools qemu-system-x86_64 busybox cpio depmod ipvsadm
HD="$(readlink -f "$1")"
HDD="$(readlink -f "${2:?usage: run.sh PATH/TO/hadirector PATH/TO/hadirector-drill}")"
exec "$HERE/../run-in-vm.sh" --timeout 240 --file "$HD" --file "$HDD" --file "$HERE/guest.sh:/guest.sh" \
  --env "HD=$HD" --env "HDD=$HDD" -- sh /guest.sh
