#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# One side of the data-plane differential test (run.sh): a NAT director in namespaces with
# three real servers and five services (rr, wrr 1:2:3, sh with sh-port, sh, mh with mh-port), the daemon with
# `dataplane = DATAPLANE`, and new connections through it before, during and after a real
# server's failure. Prints one line per phase and service:
#   RESULT <phase> <service> <rs1> <rs2> <rs3> <failed>   (new connections each server took)
#   SOURCES <phase> <service> <how many distinct servers answered>
# usage: lab.sh kernel|nftables HADIRECTOR HADIRECTOR-DRILL
# Runs on the host (nftables) and in the VM (kernel: IPVS). Namespaces hddpPID-*, removed on exit.
set -euo pipefail
DP=$1 HD=$2 HDD=$3
P=hddp$$
W=$(mktemp -d /tmp/hddp.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in c d r1 r2 r3; do ip netns del "$P-$n" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
# nsenter, not ip netns exec: no sysfs remount (the VM guest has none to spare).
ns() { local n=$1; shift; nsenter --net="/run/netns/$P-$n" "$@"; }
# In the background, its PID kept (nsenter execs the command: the PID is the command's).
ns_bg() { local n=$1; shift; nsenter --net="/run/netns/$P-$n" "$@" & PIDS+=($!); }
for n in c d r1 r2 r3; do ip netns add "$P-$n"; ns "$n" ip link set lo up; done
ip link add c0 netns "$P-c" type veth peer name d0 netns "$P-d"
ns c ip addr add 10.20.0.2/24 dev c0
ns c ip link set c0 up
ns c ip route add default via 10.20.0.1
ns d ip addr add 10.20.0.1/24 dev d0
ns d ip link set d0 up
ns d ip addr add 10.99.0.100/32 dev lo  # the VIP: local, as IPVS needs
ns d sysctl -qw net.ipv4.ip_forward=1
for i in 1 2 3; do
  ip link add r0 netns "$P-r$i" type veth peer name "d$i" netns "$P-d"
  ns "r$i" ip addr add "10.30.$i.2/24" dev r0
  ns "r$i" ip link set r0 up
  ns "r$i" ip route add default via "10.30.$i.1"
  ns d ip addr add "10.30.$i.1/24" dev "d$i"
  ns d ip link set "d$i" up
  ns_bg "r$i" "$HDD" httpd --listen "10.30.$i.2:80" --id "rs$i" --fail-file "$W/rs$i.fail" >/dev/null 2>&1
done

service() {  # PORT SCHEDULER [FLAGS] [W1 W2 W3]
  local port=$1 sched=$2 flags=$3
  shift 3
  local w=(1 1 1)
  (($#)) && w=("$@")
  printf '\n[[virtual_server]]\naddress = "10.99.0.100"\nport = %s\nscheduler = "%s"\nforwarding = "nat"\n' "$port" "$sched"
  [[ -n $flags ]] && printf 'scheduler_flags = ["%s"]\n' "$flags"
  for i in 1 2 3; do
    printf '  [[virtual_server.real_server]]\n  address = "10.30.%s.2"\n  port = 80\n  weight = %s\n' "$i" "${w[i-1]}"
    printf '  check = { type = "http", path = "/", interval = "200ms", timeout = "150ms", rise = 1, fall = 1 }\n'
  done
}
{
  printf '[global]\ncontrol_socket = "%s/c.sock"\ndataplane = "%s"\nreconcile_interval = "1s"\n' "$W" "$DP"
  service 80 rr ""
  service 81 wrr "" 1 2 3
  service 82 sh sh-port
  service 83 sh ""
  service 84 mh mh-port
} >"$W/hd.toml"
chmod 600 "$W/hd.toml"
"$HD" check -c "$W/hd.toml"
ns_bg d "$HD" run -c "$W/hd.toml" >"$W/daemon.log" 2>&1

status() { "$HD" status --json --socket "$W/c.sock" 2>/dev/null | tr -d ' \n'; }
targets_up() { status | grep -o '"up":[0-9]*' | head -1 | grep -o '[0-9]*$'; }  # checkers.up: the first "up" key
in_sync() { local s; s=$(status); [[ -n $s && $s != *'"in_sync":false'* ]]; }
settle() {  # settle N: until N targets are up and the data plane holds what is wanted
  local i
  for ((i = 0; i < 300; i++)); do
    [[ "$(targets_up)" == "$1" ]] && in_sync && return 0
    sleep 0.1
  done
  echo "lab: $1 targets up never came (now $(targets_up)); daemon log:" >&2
  tail -20 "$W/daemon.log" >&2
  return 1
}
FIRST_PORT=30000
traffic() {  # PHASE PORT COUNT
  local out
  # Each run its own source ports, the same on both data planes (sh-port hashes them; and a
  # port in TIME_WAIT from an earlier run would not be bound).
  out=$(ns c timeout 60 "$HDD" client --target "10.99.0.100:$2" --rate 200 --long 0 --count "$3" \
          --timeout-ms 2000 --first-port "$FIRST_PORT") ||
    { echo "lab: the client to port $2 did not finish ($1)" >&2; tail -20 "$W/daemon.log" >&2; return 1; }
  FIRST_PORT=$((FIRST_PORT + 500))
  awk -v phase="$1" -v port="$2" '
    $1 == "R" && $4 == "ok" { n[$6]++ }
    $1 == "R" && $4 != "ok" { f++ }
    END { k = 0; for (s in n) k++  # before n["rs2"] below makes the key
          printf "RESULT %s %s %d %d %d %d\n", phase, port, n["rs1"], n["rs2"], n["rs3"], f
          printf "SOURCES %s %s %d\n", phase, port, k }' <<<"$out"
}
phase() {
  traffic "$1" 80 60
  traffic "$1" 81 60
  traffic "$1" 82 120
  traffic "$1" 83 30
  traffic "$1" 84 120
}
settle 15
phase up
touch "$W/rs2.fail"  # rs2 answers 500: out of all five services
settle 10
phase rs2-down
rm -f "$W/rs2.fail"
settle 15
phase rs2-back
# The table as the kernel holds it, its first lines (read whole first: `| head` would cut nft
# off with SIGPIPE, which pipefail turns into this script's failure).
if [[ $DP == nftables ]]; then table=$(ns d nft list table ip hadirector); sed -n 1,40p <<<"$table"; fi
if [[ $DP == kernel ]]; then ns d ipvsadm -Ln; fi
