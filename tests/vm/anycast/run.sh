#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# #16's ECMP lab (lab.sh) as users run it, `hadirector-drill --topology ecmp`, in Debian's
# kernel under qemu (IPVS): three anycast directors with BIRD behind an ECMP router,
# scenarios with budgets. The drill finds the lab and the VM runner staged beside it
# (build/lib/hadirector/, as the packages install them).
# usage: run.sh PATH/TO/hadirector PATH/TO/hadirector-drill
# Exit: 0 every budget kept, 1 not, 77 skipped (tools missing).
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
. "$HERE/../require-tools.sh"
require_tools qemu-system-x86_64 busybox cpio depmod ipvsadm nsenter bird
HD="$(readlink -f "$1")"
HDD="$(readlink -f "${2:?usage: run.sh PATH/TO/hadirector PATH/TO/hadirector-drill}")"
# CI's short version: rs-dies is left to the VRRP drill's rs-down, 5 s of traffic each.
LAB_CLIENT_S=5 exec "$HDD" --topology ecmp --daemon "$HD" --scenario steady --scenario drain \
  --scenario daemon-kill --scenario added-back --scenario bird-kill --scenario quorum-one
