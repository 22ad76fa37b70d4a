#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside the VM (tests/vm/import/run.sh): for every case in /cases (cases.py prepare),
# keepalived -C on k.conf in one network namespace and hadirector on the imported h.toml in
# another, all at once; once no table has changed for 3 s (after at least 5 s), every table
# is printed between "=== N keepalived" / "=== N hadirector" lines for the host to compare.
HD=${HD:-hadirector}
cd /cases || exit 2
cases=$(cut -d' ' -f1 index)
for n in $cases; do
  ip netns add "k$n" && ip netns add "h$n" || exit 2
  ip -n "k$n" link set lo up
  ip -n "h$n" link set lo up
  mkdir -p "/tmp/hd$n"
  ip netns exec "k$n" keepalived -n -l -D -C -i low -f "/cases/$n/k.conf" -p "/tmp/k$n.pid" \
    -c "/tmp/kc$n.pid" >"/tmp/k$n.log" 2>&1 &
  echo $! >"/tmp/k$n.ppid"
  ip netns exec "h$n" "$HD" run -c "/cases/$n/h.toml" >"/tmp/h$n.log" 2>&1 &
  echo $! >"/tmp/h$n.ppid"
done
snapshot() {
  for n in $cases; do
    echo "=== $n keepalived"; ip netns exec "k$n" ipvsadm -Ln 2>&1
    echo "=== $n hadirector"; ip netns exec "h$n" ipvsadm -Ln 2>&1
  done
}
prev=""; same=0; t=0
while [ $t -lt 40 ]; do
  sleep 1; t=$((t + 1))
  cur=$(snapshot)
  if [ "$cur" = "$prev" ]; then same=$((same + 1)); else same=0; fi
  prev=$cur
  [ $t -ge 5 ] && [ $same -ge 3 ] && break
done
echo "settled after ${t} s (unchanged for ${same} s)"
echo "$cur"
echo "=== end"
for n in $cases; do
  kill "$(cat /tmp/k$n.ppid)" "$(cat /tmp/h$n.ppid)" 2>/dev/null
done
sleep 1
for n in $cases; do
  if ! grep -q . "/tmp/h$n.log"; then :; fi
  if ! ip netns exec "h$n" true; then :; fi
done
# The daemons' own words, for a failing case (the host prints them only then).
for n in $cases; do
  echo "=== log $n keepalived"; tail -5 "/tmp/k$n.log"
  echo "=== log $n hadirector"; tail -5 "/tmp/h$n.log"
done
