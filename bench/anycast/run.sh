#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# #16's benchmark: one of three anycast directors leaves under 1,000 long-lived connections
# and 200 new connections/s, in the ECMP lab (tests/vm/anycast/lab.sh, IPVS in the VM):
# broken long-lived connections and failed new ones, side by side for
#   mh + connection sync (hadirector's default for announce = "bgp"),
#   mh without sync (consistent hashing alone), and wrr without sync (what ECMP does to a
#   scheduler that picks per director).
# Two ways to leave: daemon-kill (hadirector SIGKILLed: its TUN device goes, BGP withdraws
# at once) and host-dies (the director's link cut: the router waits for the BGP hold time).
# usage: bench/anycast/run.sh [BUILD_DIR]   (root; qemu, busybox-static, bird2)
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
B="$(readlink -f "${1:-$HERE/../../build}")"
LAB="$HERE/../../tests/vm/anycast/lab.sh"
BIRD="$(command -v bird || echo /usr/sbin/bird)"
for cfg in "mh 1" "mh 0" "wrr 0"; do
  read -r sched sync <<<"$cfg"
  echo "=== scheduler $sched, connection sync $([[ $sync == 1 ]] && echo on || echo off)"
  "$HERE/../../tests/vm/run-in-vm.sh" --timeout 400 --mem 1536 --smp 2 \
    --file "$B/sbin/hadirector" --file "$B/sbin/hadirector-drill" --file "$BIRD" \
    --file "$LAB:/lab.sh" -- env LAB_SCENARIOS="steady daemon-kill added-back host-dies" \
    LAB_RATE=200 LAB_LONG=1000 LAB_LONG_EVERY_MS=1000 LAB_SCHED="$sched" LAB_SYNC="$sync" \
    LAB_JUDGE=0 bash /lab.sh "$B/sbin/hadirector" "$B/sbin/hadirector-drill" "$BIRD" 2>&1 |
    grep -v -e ' Killed ' -e '^-- d' -e 'RemoteAddress' -e '  -> ' -e '^TCP ' -e ': ok (' || true
done
