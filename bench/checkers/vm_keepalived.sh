#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# #17: health-check CPU per check actually run, hadirector against keepalived's checker, in
# one run of the IPVS VM (Debian's kernel under qemu TCG, where every syscall and packet is
# expensive, so per-check overhead shows).
#
#   bench/checkers/vm_keepalived.sh BUILD/sbin/hadirector [--checks 1000] [--seconds 20]
#
# The same N real servers (10 virtual servers, NAT, rr), each checked over TCP every second,
# their targets closed ports on loopback (a RST answers each SYN); each daemon alone in its
# own network namespace, one after the other: keepalived 2.2 (TCP_CHECK: a connect()),
# hadirector with half-open probes (its default) and with probe = "connect". Measured over
# --seconds after a warm-up of 5 s: the CPU of the checking process (keepalived's checker
# child; hadirector's whole process, every thread) from /proc/PID/stat, and the checks each
# ran (the RSTs its namespace's kernel sent, Tcp OutRsts of /proc/net/snmp: one per SYN to a
# closed target, whoever sent it; for hadirector also its scheduler's probe count from
# status --json, as a cross-check). Prints CPU % of one core, checks/s, CPU per check and the ratio
# to keepalived's. Needs root, qemu, keepalived.
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
HD="$(readlink -f "${1:?usage: vm_keepalived.sh PATH/TO/hadirector [--checks N] [--seconds S]}")"
shift
N=1000 S=20
while (($#)); do
  case $1 in
    --checks) N=$2; shift 2 ;;
    --seconds) S=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
KEEPALIVED=$(command -v keepalived || echo /usr/sbin/keepalived)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
per=$(( (N + 9) / 10 ))

# keepalived.conf and a hadirector config with the same servers, written in one pass (the
# hadirector one for half-open probes; the connect variant differs in `probe` alone).
echo "global_defs { router_id bench }" >"$work/k.conf"
printf '[global]\ndataplane = "kernel"\nlog_level = "warning"\n' >"$work/h.toml"
for v in $(seq 0 9); do
  printf 'virtual_server 10.9.%d.1 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n' \
    "$v" >>"$work/k.conf"
  printf '[[virtual_server]]\naddress = "10.9.%d.1"\nport = 80\nscheduler = "rr"\n' "$v" >>"$work/h.toml"
  for i in $(seq 0 $((per - 1))); do
    ((v * per + i < N)) || break
    port=$((20000 + v * per + i))
    # One keyword a line: keepalived's parser takes no ';'.
    printf '  real_server 127.0.0.1 %d {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n' \
      "$port" >>"$work/k.conf"
    printf '  [[virtual_server.real_server]]\n  address = "127.0.0.1"\n  port = %d\n  forwarding = "nat"\n  check = { type = "tcp", probe = "syn", interval = "1s", timeout = "1s" }\n' \
      "$port" >>"$work/h.toml"
  done
  echo "}" >>"$work/k.conf"
done
for probe in syn connect; do
  { printf '[global]\ncontrol_socket = "/tmp/hd-%s.sock"\nruntime_dir = "/tmp/hd-%s"\nstate_dir = "/tmp/hd-%s"\n' \
      "$probe" "$probe" "$probe"
    sed -e '1d' -e "s/probe = \"syn\"/probe = \"$probe\"/" "$work/h.toml"; } >"$work/h-$probe.toml"
done
for probe in syn connect; do "$HD" check -c "$work/h-$probe.toml" >/dev/null; done

cat >"$work/guest.sh" <<'EOF'
#!/bin/sh
# In the VM: one daemon at a time in its own namespace; prints "RESULT name ticks checks opens".
N=$1 S=$2 HD=$3
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The RSTs the namespace's kernel sent: one per SYN to a closed target port, whoever sent it
# (a connect() or a half-open probe's raw SYN).
opens() { awk '/^Tcp:/ { if (h) print $15; h = 1 }' "/proc/$1/net/snmp"; }
probes() { "$HD" status --json --socket "$1" | tr -d ' \n' | grep -o '"probes":[0-9]*' | head -1 | cut -d: -f2; }
ip netns add ka && ip -n ka link set lo up
nsenter --net=/run/netns/ka keepalived -n -l -D -C -f /work/k.conf -p /tmp/k.pid -c /tmp/kc.pid >/tmp/k.log 2>&1 &
sleep 5
kc=$(cat /tmp/kc.pid)
t0=$(ticks "$kc"); o0=$(opens "$kc")
sleep "$S"
t1=$(ticks "$kc"); o1=$(opens "$kc")
echo "RESULT keepalived $((t1 - t0)) $((o1 - o0)) $((o1 - o0))"
echo "keepalived log: $(grep -c 'TCP connection' /tmp/k.log) TCP connection lines, $(wc -l </tmp/k.log) lines"; grep -m5 -i 'error\\|unknown\\|warning' /tmp/k.log
kill "$(cat /tmp/k.pid)"; sleep 2
for probe in syn connect; do
  ip netns add "h$probe" && ip -n "h$probe" link set lo up
  nsenter --net="/run/netns/h$probe" "$HD" run -c "/work/h-$probe.toml" >"/tmp/h-$probe.log" 2>&1 &
  pid=$!
  sleep 5
  t0=$(ticks "$pid"); o0=$(opens "$pid"); p0=$(probes "/tmp/hd-$probe.sock")
  sleep "$S"
  t1=$(ticks "$pid"); o1=$(opens "$pid"); p1=$(probes "/tmp/hd-$probe.sock")
  echo "RESULT hadirector-$probe $((t1 - t0)) $((p1 - p0)) $((o1 - o0))"
  kill "$pid"; sleep 2
done
tail -3 /tmp/k.log /tmp/h-syn.log /tmp/h-connect.log
EOF
out=$("$HERE/../../tests/vm/run-in-vm.sh" --timeout $((3 * S + 120)) --mem 1024 --file "$HD" \
  --file "$KEEPALIVED" --file "$work:/work" -- sh /work/guest.sh "$N" "$S" "$HD")
echo "$out" | grep -v "^RESULT" | tail -${HD_BENCH_LOG_LINES:-12} >&2
cat >"$work/report.py" <<'EOF'
import sys
S, N = float(sys.argv[1]), int(sys.argv[2])
hz = 100.0  # USER_HZ: the tick of /proc/PID/stat
rows = [l.split()[1:] for l in sys.stdin if l.startswith("RESULT ")]
print("%d real servers checked every second, %.0f s measured, Debian's kernel under qemu TCG" % (N, S))
print("%-20s %11s %9s %13s %9s %14s" % ("", "CPU % core", "checks/s", "CPU us/check", "RSTs",
                                        "vs keepalived"))
base = None
for name, ticks, checks, opens in rows:
    cpu = int(ticks) / hz
    n = int(checks)
    per = cpu / n * 1e6 if n else float("nan")
    if name == "keepalived":
        base = per
    ratio = "%.2fx" % (per / base) if base else "-"
    print("%-20s %10.1f%% %9.0f %13.1f %9d %14s" % (name, 100 * cpu / S, n / S, per, int(opens), ratio))
EOF
echo "$out" | python3 "$work/report.py" "$S" "$N"
