#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs in the VM (run.sh): the programming benchmarks of both data planes on one kernel, then
# NAT forwarding through a director namespace with IPVS and with nftables, side by side:
# wrk from a client namespace to the VIP (3 real servers, wrr), and to one real server
# routed with no load balancing as the floor. TCG: compare the columns, not with a host.
set -euo pipefail
: "${HD:?}" "${HDD:?}" "${NFT_BENCH:?}"
if [[ ${REPS:-3} != 0 ]]; then
  echo "== programming"
  if [[ -n ${IPVS_BENCH:-} ]]; then "$IPVS_BENCH" --reps "${REPS:-3}"; echo; fi
  "$NFT_BENCH" --reps "${REPS:-3}"
  echo
fi
echo "== NAT forwarding (wrk ${WRK_SECONDS:=8} s, ${WRK_CONNS:=16} connections, new connection per request)"
P=hdtp
W=/tmp/hdtp
mkdir -p $W
ns() { local n=$1; shift; nsenter --net="/run/netns/$P-$n" "$@"; }
# In the background (nsenter execs the command: $! is the command's PID).
ns_bg() { local n=$1; shift; nsenter --net="/run/netns/$P-$n" "$@" & BG=$!; }
for n in c d r1 r2 r3; do ip netns add "$P-$n"; ns "$n" ip link set lo up; done
ip link add c0 netns "$P-c" type veth peer name d0 netns "$P-d"
ns c ip addr add 10.20.0.2/24 dev c0; ns c ip link set c0 up; ns c ip route add default via 10.20.0.1
ns d ip addr add 10.20.0.1/24 dev d0; ns d ip link set d0 up
ns d ip addr add 10.99.0.100/32 dev lo
ns d sysctl -qw net.ipv4.ip_forward=1
for i in 1 2 3; do
  ip link add r0 netns "$P-r$i" type veth peer name "d$i" netns "$P-d"
  ns "r$i" ip addr add "10.30.$i.2/24" dev r0; ns "r$i" ip link set r0 up
  ns "r$i" ip route add default via "10.30.$i.1"
  ns d ip addr add "10.30.$i.1/24" dev "d$i"; ns d ip link set "d$i" up
  ns_bg "r$i" "$HDD" httpd --listen "10.30.$i.2:80" --id "rs$i" >/dev/null 2>&1
done
config() {
  printf '[global]\ncontrol_socket = "%s/c.sock"\ndataplane = "%s"\n\n' "$W" "$1"
  printf '[[virtual_server]]\naddress = "10.99.0.100"\nport = 80\nscheduler = "wrr"\nforwarding = "nat"\n'
  for i in 1 2 3; do
    printf '  [[virtual_server.real_server]]\n  address = "10.30.%s.2"\n  port = 80\n  weight = %s\n' "$i" "$i"
    printf '  check = { type = "tcp", interval = "1s", timeout = "500ms", rise = 1 }\n'
  done
}
rate() {  # URL: requests/s, "Connection: close" (each request a new connection: scheduled)
  ns c wrk -t 2 -c "$WRK_CONNS" -d "${WRK_SECONDS}s" -H "Connection: close" "$1" |
    awk '/Requests\/sec/ { print $2 } /Socket errors|Non-2xx/ { print "  (" $0 ")" > "/dev/stderr" }'
}
floor=$(rate http://10.30.1.2/)
declare -A got
for dp in kernel nftables; do
  config $dp >$W/hd.toml
  chmod 600 $W/hd.toml
  ns_bg d "$HD" run -c $W/hd.toml >$W/$dp.log 2>&1
  pid=$BG
  for _ in $(seq 100); do
    "$HD" status --json --socket $W/c.sock 2>/dev/null | tr -d ' \n' | grep -q '"up":3' && break
    sleep 0.2
  done
  got[$dp]=$(rate http://10.99.0.100/)
  if ! kill -TERM $pid; then echo "the daemon ($dp) had stopped:"; tail -20 $W/$dp.log; exit 1; fi
  wait $pid || true
  ns d ipvsadm -C
  ns d nft delete table ip hadirector 2>/dev/null || true
done
printf '%-34s %12s\n' "path" "requests/s"
printf '%-34s %12s\n' "routed to one real server (floor)" "$floor"
printf '%-34s %12s\n' "IPVS NAT, wrr over 3" "${got[kernel]}"
printf '%-34s %12s\n' "nftables NAT, wrr over 3" "${got[nftables]}"
awk -v k="${got[kernel]}" -v n="${got[nftables]}" 'BEGIN { if (k > 0) printf "nftables/IPVS: %.2f\n", n / k }'
