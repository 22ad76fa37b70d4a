#!/usr/bin/env bash
# The daemon programming IPVS in a real kernel (Debian's, under qemu): every
# shape read back with ipvsadm, adoption on restart, one-change reload, drift
# repair, foreign services, cleanup on stop.  usage: run.sh PATH/TO/hadirector
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
HD="$(readlink -f "$1")"
exec "$HERE/../run-in-vm.sh" --timeout 240 --file "$HD" --file "$HERE/guest.sh:/guest.sh" \
  --env "HD=$HD" -- sh /guest.sh
