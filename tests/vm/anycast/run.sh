#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# #16's ECMP lab (lab.sh) in Debian's kernel under qemu (IPVS): three anycast directors
# with BIRD behind an ECMP router, scenarios with budgets.
# usage: run.sh PATH/TO/hadirector PATH/TO/hadirector-drill
# Exit: 0 every budget kept, 1 not, 77 skipped (tools missing).
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
for t in qemu-system-x86_64 busybox cpio depmod ipvsadm nsenter bird; do
  if ! command -v "$t" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$t && ! -x /sbin/$t ]]; then
    echo "SKIP: $t not installed (run scripts/install-deps.sh and scripts/install-vm-deps.sh)"; exit 77
  fi
done
HD="$(readlink -f "$1")"
HDD="$(readlink -f "${2:?usage: run.sh PATH/TO/hadirector PATH/TO/hadirector-drill}")"
BIRD="$(command -v bird || echo /usr/sbin/bird)"
exec "$HERE/../run-in-vm.sh" --timeout 240 --mem 1024 --smp 2 --file "$HD" --file "$HDD" \
  --file "$BIRD" --file "$HERE/lab.sh:/lab.sh" -- bash /lab.sh "$HD" "$HDD" "$BIRD"
