#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What IPVS programming costs the daemon's main loop (issue #17), inside the test VM
# (Debian's kernel, qemu TCG):
#   bench/ipvs/daemon_stall.sh BUILD/sbin/hadirector [--services 2000] [--reals 10] [--checks 200]
# `hadirector run` starts with one virtual server of CHECKS real servers checked every second
# (TCP connect to closed loopback ports: refused at once, so the checks cost little; their
# start lateness is the main loop's), then a reload (SIGHUP) adds SERVICES x REALS real
# servers without checks: SERVICES x (REALS + 1) operations while the checks run. Printed:
# when the reload's table was programmed (status `ipvs.last_sync` changed),
# how long the first status took to answer, the checks' start lateness over the run (status
# `checkers.scheduler`), and what ipvsadm counts. Under TCG every syscall is slow: compare
# runs with each other, not with a host. Asserts nothing.
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
bin="$(readlink -f "${1:?usage: daemon_stall.sh PATH/TO/hadirector [--services N] [--reals N] [--checks N]}")"
shift
services=2000 reals=10 checks=200
while (($#)); do
  case "$1" in
    --services) services=$2; shift 2 ;;
    --reals) reals=$2; shift 2 ;;
    --checks) checks=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d /tmp/hd-stall.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 - "$services" "$reals" "$checks" "$work" <<'PY'
import sys
services, reals, checks = map(int, sys.argv[1:4])
work = sys.argv[4]
out = []
print = out.append
print('[global]\ndataplane = "kernel"\ncontrol_socket = "/tmp/hd/c.sock"\n'
      'runtime_dir = "/tmp/hd"\nstate_dir = "/tmp/hd"\nreconcile_interval = "1h"\n')
head = len(out)
for s in range(services):
    print('[[virtual_server]]\naddress = "10.%d.%d.1"\nport = 80\n' % (1 + s // 250, s % 250))
    for r in range(reals):
        print('  [[virtual_server.real_server]]\n  address = "10.200.%d.%d"\n  port = %d\n'
              % (s // 250, 1 + s % 250, 8000 + r))
print('[[virtual_server]]\naddress = "10.255.0.1"\nport = 80\n')
for c in range(checks):
    print('  [[virtual_server.real_server]]\n  address = "127.0.%d.%d"\n  port = 9\n'
          '  check = { type = "tcp", probe = "connect", interval = "1s", timeout = "500ms" }\n'
          % (1 + c // 250, 1 + c % 250))
checked = out[head + services * (1 + reals):]
open(work + "/c.toml", "w").write("\n".join(out) + "\n")
open(work + "/c0.toml", "w").write("\n".join(out[:head] + checked) + "\n")
PY
# The guest's script (busybox sh): times from /proc/uptime.
{
  echo '#!/bin/sh'
  echo 'up() { cut -d" " -f1 /proc/uptime; }'
  echo 'ip link set lo up; mkdir -p /tmp/hd'
  echo "HD=$bin; CFG=$work/c.toml; CFG0=$work/c0.toml"
  cat <<'SH'
cp $CFG0 /tmp/hd/run.toml
$HD run -c /tmp/hd/run.toml >/tmp/hd/log 2>&1 &
pid=$!
sleep 3
cp $CFG /tmp/hd/run.toml
before=$($HD status --json --socket /tmp/hd/c.sock 2>/dev/null | grep -o '"last_sync": *[0-9.e+]*' | head -1 | grep -o '[0-9.e+]*$')
kill -HUP $pid
start=$(up)
sleep 1
asked=$(up)
$HD status --json --socket /tmp/hd/c.sock >/tmp/hd/first.json 2>/dev/null
answered=$(up)
synced=""
i=0
while [ $i -lt 600 ]; do
  s=$($HD status --json --socket /tmp/hd/c.sock 2>/dev/null | grep -o '"last_sync": *[0-9.e+]*' | head -1 | grep -o '[0-9.e+]*$')
  if [ -n "$s" ] && [ "$s" != "$before" ]; then synced=$(up); break; fi
  sleep 0.2
  i=$((i + 1))
done
sleep 3
echo "reload (SIGHUP) at $start s (guest uptime); first status asked at $asked, answered at $answered; last_sync first seen at $synced"
$HD status --json --socket /tmp/hd/c.sock | grep -A8 '"scheduler"' | tr -d ' \n'; echo
echo "ipvsadm: $(ipvsadm -Ln | grep -c '^TCP') services, $(ipvsadm -Ln | grep -c -- '->  *[0-9]') destinations"
grep -E "applied|warn|error" /tmp/hd/log | head -5
[ -n "$synced" ] || tail -20 /tmp/hd/log
SH
} >"$work/run.sh"
chmod +x "$work/run.sh"
"$HERE/../../tests/vm/run-in-vm.sh" --timeout 590 --mem 2048 --file "$bin" --file "$work" \
  --file "$(command -v ipvsadm)" --file "$(command -v ip)" -- "$work/run.sh"
