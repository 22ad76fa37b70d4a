#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside the VM (tests/vm/import/run.sh): for every case in /cases (cases.py prepare),
# keepalived -C on k.conf in one network namespace and hadirector on the imported h.toml in
# another, all at once; once no table has changed for 3 s (after at least 5 s), every table
# is printed between "=== N keepalived" / "=== N hadirector" lines for the host to compare.
HD=${HD:-hadirector}
cd /cases || exit 2
# The "mixed" cases' FILE_CHECKs (cases.py): up while a file reads 0, down at 1.
echo 0 >/tmp/hd-mixed-up
echo 1 >/tmp/hd-mixed-down
cases=$(cut -d' ' -f1 index)
for n in $cases; do
  ip netns add "k$n" && ip netns add "h$n" || exit 2
  ip -n "k$n" link set lo up
  ip -n "h$n" link set lo up
  mkdir -p "/tmp/hd$n"
  nsenter --net="/run/netns/k$n" keepalived -n -l -D -C -i low -f "/cases/$n/k.conf" -p "/tmp/k$n.pid" \
    -c "/tmp/kc$n.pid" >"/tmp/k$n.log" 2>&1 &
  echo $! >"/tmp/k$n.ppid"
  nsenter --net="/run/netns/h$n" "$HD" run -c "/cases/$n/h.toml" >"/tmp/h$n.log" 2>&1 &
  echo $! >"/tmp/h$n.ppid"
done
# Settling is judged on the kernel's own text (/proc/PID/net/ip_vs of each daemon: no
# process per table, which under emulation costs 0.2 s each); the tables compared are
# ipvsadm's (nsenter, not ip netns exec: no sysfs remount).
# One cat for every table (a process costs ~0.15 s under emulation: one per table was most
# of the settling time).
tables=""
for n in $cases; do
  tables="$tables /proc/$(cat /tmp/k$n.ppid)/net/ip_vs /proc/$(cat /tmp/h$n.ppid)/net/ip_vs"
done
raw() {
  # shellcheck disable=SC2086
  cat $tables 2>&1
}
snapshot() {
  for n in $cases; do
    echo "=== $n keepalived"; nsenter --net="/run/netns/k$n" ipvsadm -Ln 2>&1
    echo "=== $n hadirector"; nsenter --net="/run/netns/h$n" ipvsadm -Ln 2>&1
  done
}
up() { cut -d' ' -f1 /proc/uptime; }
echo "started $(echo "$cases" | wc -w) case(s) at $(up) s"
# Every check runs each second (delay_loop 1, interval 1s): 6 s after the last start every
# daemon has settled; then two snapshots 3 s apart must agree (else again, up to 60 s).
sleep 6
prev=$(raw)
i=0
while [ $i -lt 18 ]; do
  sleep 3
  cur=$(raw)
  [ "$cur" = "$prev" ] && break
  prev=$cur; i=$((i + 1))
done
echo "settled at $(up) s ($i retries)"
cur=$(snapshot)
echo "read at $(up) s"
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
