#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# #16's ECMP lab (docs/anycast.md), run in the IPVS VM: a client behind an upstream router
# (BIRD 2, ECMP with the L4 hash policy), three directors each running hadirector
# (announce = "bgp", LVS-DR, mh, the connection sync both ways) and BIRD, four real servers
# (VIP on lo, ARP hidden). Scenarios, each with new connections and long-lived keep-alive
# connections running across it:
#   steady, drain (ctl withdraw on d3), daemon-kill (SIGKILL hadirector on d1), added-back
#   (d1 restarted), bird-kill (SIGKILL BIRD on d2), quorum-one (d3 alone loses its real
#   servers), rs-dies (r4's server stops)
# Prints per scenario: withdraw/announce time at the router, new requests and how many
# failed, long-lived connections broken (those on a server the scenario killed apart), and
# in steady the share of new connections per director; judges each against its budget.
# usage: lab.sh HADIRECTOR HADIRECTOR-DRILL BIRD
# Environment (bench/anycast sets them; the test takes the defaults):
#   LAB_SCENARIOS  the scenarios to play, in order (default: all but host-dies, which cuts
#                  d1's link: the router waits for the BGP hold time). Each starts from all
#                  three directors serving and leaves them so.
#   LAB_RATE, LAB_LONG  new connections/s (40), long-lived connections (20)
#   LAB_LONG_EVERY_MS   a long-lived connection's request interval (200)
#   LAB_SCHED      the scheduler (mh); LAB_SYNC=0: no connection sync; LAB_SLOPPY=0: no sloppy_tcp
#   LAB_JUDGE=0    print, judge nothing (benchmarks)
#   LAB_CLIENT_S   seconds of traffic per scenario (7; CI's short version 5)
# Exit 0: every budget kept; 1: one was not (said on a FAIL line).
set -euo pipefail
HD=$1 HDD=$2 BIRD=$3
SCENARIOS=${LAB_SCENARIOS:-steady drain daemon-kill added-back bird-kill quorum-one rs-dies}
RATE=${LAB_RATE:-40} LONG=${LAB_LONG:-20} SCHED=${LAB_SCHED:-mh} EVERY=${LAB_LONG_EVERY_MS:-200}
SYNC=${LAB_SYNC:-1} SLOPPY=${LAB_SLOPPY:-1} JUDGE=${LAB_JUDGE:-1}
ulimit -n 65536  # the client holds up to 1,000 long-lived connections and the new ones
P=hdan$$
W=$(mktemp -d /tmp/hdan.XXXXXX)
VIP=10.99.0.100
NSS=(c rt sw d1 d2 d3 r1 r2 r3 r4)
PIDS=()
declare -A BIRD_PID HD_PID RS_PID
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "${NSS[@]}"; do ip netns del "$P-$n" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
ns() { local n=$1; shift; nsenter --net="/run/netns/$P-$n" "$@"; }
# In the background, its PID kept (nsenter execs the command: the PID is the command's).
ns_bg() { local n=$1; shift; nsenter --net="/run/netns/$P-$n" "$@" & PIDS+=($!); LAST=$!; }
now() { echo "$EPOCHREALTIME"; }
FAILED=0
fail() { if ((JUDGE)); then echo "FAIL: $*"; FAILED=1; fi; }

for n in "${NSS[@]}"; do ip netns add "$P-$n"; ns "$n" ip link set lo up; done
# The back segment: a bridge joining the router, the directors and the real servers.
ns sw ip link add br0 type bridge
ns sw ip link set br0 up
port=0
attach() {  # NS ADDR: eth0 on the bridge
  port=$((port + 1))
  ip link add "p$port" netns "$P-sw" type veth peer name eth0 netns "$P-$1"
  ns sw ip link set "p$port" master br0 up
  ns "$1" ip addr add "$2/24" dev eth0
  ns "$1" ip link set eth0 up
}
attach rt 10.77.0.1
for i in 1 2 3; do attach "d$i" "10.77.0.1$i"; done
for i in 1 2 3 4; do attach "r$i" "10.77.0.2$i"; done
# The front: client <-> router.
ip link add c0 netns "$P-c" type veth peer name f0 netns "$P-rt"
ns c ip addr add 10.70.0.2/24 dev c0
ns c ip link set c0 up
ns c ip route add default via 10.70.0.1
ns rt ip addr add 10.70.0.1/24 dev f0
ns rt ip link set f0 up
ns rt sysctl -qw net.ipv4.ip_forward=1
ns rt sysctl -qw net.ipv4.fib_multipath_hash_policy=1  # L4: flows, not hosts, spread
for i in 1 2 3; do
  ns "d$i" ip route add default via 10.77.0.1
  # A mid-flow packet with no connection entry (ECMP moved it, the sync has not carried it
  # yet) is scheduled like a new one: mh picks the server it already uses.
  ns "d$i" sysctl -qw "net.ipv4.vs.sloppy_tcp=$SLOPPY"
done
for i in 1 2 3 4; do
  ns "r$i" ip route add default via 10.77.0.1
  ns "r$i" ip addr add "$VIP/32" dev lo
  for k in all eth0; do
    ns "r$i" sysctl -qw "net.ipv4.conf.$k.arp_ignore=1"
    ns "r$i" sysctl -qw "net.ipv4.conf.$k.arp_announce=2"
  done
done
start_rs() { ns_bg "r$1" "$HDD" httpd --listen "0.0.0.0:80" --id "rs$1" >/dev/null 2>&1; RS_PID[$1]=$LAST; }
for i in 1 2 3 4; do start_rs "$i"; done

cat >"$W/bird-rt.conf" <<CONF
log "$W/bird-rt.log" all;
router id 10.77.0.1;
protocol device { scan time 10; }
protocol kernel k_main {
    merge paths on limit 16;
    ipv4 { import none; export where source = RTS_BGP; };
}
template bgp director {
    local 10.77.0.1 as 65000;
    hold time 3; keepalive time 1;
    connect delay time 1; connect retry time 1; error wait time 1, 5;
    graceful restart off;
    ipv4 { import where net ~ [ 10.99.0.0/16{32,32} ]; export none; };
}
protocol bgp d1 from director { neighbor 10.77.0.11 as 65001; }
protocol bgp d2 from director { neighbor 10.77.0.12 as 65002; }
protocol bgp d3 from director { neighbor 10.77.0.13 as 65003; }
CONF
start_bird() {  # NAME
  ns_bg "$1" "$BIRD" -f -c "$W/bird-$1.conf" -s "$W/bird-$1.ctl" -P "$W/bird-$1.pid"
  BIRD_PID[$1]=$LAST
}
start_bird rt
for i in 1 2 3; do
  cat >"$W/bird-d$i.conf" <<CONF
log "$W/bird-d$i.log" all;
router id 10.77.0.1$i;
protocol device { scan time 10; }
protocol kernel k_anycast {
    kernel table 200;
    learn;
    scan time 10;
    ipv4 { import where krt_source = 250 && net ~ [ 10.99.0.0/16{32,32} ]; export none; };
}
protocol bgp upstream {
    local 10.77.0.1$i as 6500$i;
    neighbor 10.77.0.1 as 65000;
    hold time 3; keepalive time 1;
    connect delay time 1; connect retry time 1; error wait time 1, 5;
    graceful restart off;
    ipv4 { import none; export where proto = "k_anycast"; };
}
CONF
  {
    printf '[global]\ncontrol_socket = "%s/d%s.sock"\nstate_dir = "%s/state%s"\n' "$W" "$i" "$W" "$i"
    printf 'reconcile_interval = "1s"\n'
    ((SYNC)) && printf 'lvs_sync_daemon = { interface = "eth0", sync_id = 7 }\n'
    printf '[anycast]\nwithdraw_linger = "1s"\n'
    printf '[[virtual_server]]\naddress = "%s"\nport = 80\nannounce = "bgp"\nforwarding = "dr"\nscheduler = "%s"\n' "$VIP" "$SCHED"
    # One client address: mh-port hashes its ports too, so its flows spread over the servers.
    [[ $SCHED == mh ]] && printf 'scheduler_flags = ["mh-port"]\n'
    for r in 1 2 3 4; do
      printf '  [[virtual_server.real_server]]\n  address = "10.77.0.2%s"\n  port = 80\n' "$r"
      printf '  check = { type = "http", path = "/", interval = "200ms", timeout = "150ms", rise = 1, fall = 1 }\n'
    done
  } >"$W/d$i.toml"
  chmod 600 "$W/d$i.toml"
  "$HD" check -c "$W/d$i.toml" 2>&1 | grep -v ': warning: ' || true  # wrr / no sync: warned, as meant
  start_bird "d$i"
done
start_hd() { ns_bg "d$1" "$HD" run -c "$W/d$1.toml" >>"$W/d$1.log" 2>&1; HD_PID[$1]=$LAST; }
for i in 1 2 3; do start_hd "$i"; done

hops() { ns rt ip route show "$VIP" | grep -o 'via 10\.77\.0\.1[1-3]' | sort | tr '\n' ' '; }
want() { local s=""; for i in "$@"; do s+="via 10.77.0.1$i "; done; echo "$s"; }
wait_hops() {  # EXPECTED-STRING TIMEOUT-S: seconds it took (3 decimals), or fails
  local t0 t; t0=$(now)
  while :; do
    [[ "$(hops)" == "$1" ]] && break
    t=$(now)
    if awk -v a="$t" -v b="$t0" -v m="$2" 'BEGIN { exit !(a - b > m) }'; then
      echo "lab: the router never showed '$1' (now '$(hops)')" >&2
      for i in 1 2 3; do echo "-- d$i" >&2; tail -5 "$W/d$i.log" >&2; done
      return 1
    fi
    sleep 0.01
  done
  awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f", a - b }'
}
conns() { ns "d$1" ipvsadm -Ln --stats --exact -t "$VIP:80" 2>/dev/null | awk '$1 == "TCP" { s = $3 } END { print s + 0 }'; }

wait_hops "$(want 1 2 3)" 60 >/dev/null
echo "lab: three directors announce $VIP; router: $(ns rt ip route show "$VIP" | tr -s ' \n' ' ')"

FIRST_PORT=20000
CLIENT_S=${LAB_CLIENT_S:-7} WARM=2  # each scenario's traffic: WARM s before the act
((LONG > 200)) && CLIENT_S=14 WARM=7  # opening 1,000 connections in the guest takes a while
printf '%-13s %9s %9s %7s %7s %9s %s\n' scenario withdraw new failed long broken note
scenario() {  # NAME ACT WANT-AFTER MAX-FAILED KILLED-SERVER(or -)
  local name=$1 act=$2 after=$3 max_failed=$4 killed=$5 t="-" out="$W/$1.out"
  ns c timeout -s TERM "$CLIENT_S" "$HDD" client --target "$VIP:80" --rate "$RATE" --long "$LONG" --timeout-ms 2000 \
    --long-interval-ms "$EVERY" --first-port "$FIRST_PORT" >"$out" 2>/dev/null &
  local cpid=$!
  # Each scenario its own source ports (IPVS would otherwise find the last one's entries).
  FIRST_PORT=$((FIRST_PORT + LONG + RATE * CLIENT_S + 100))
  ((FIRST_PORT + LONG + RATE * CLIENT_S < 60000)) || FIRST_PORT=20000
  sleep "$WARM"  # long-lived connections open, and the sync carries them
  $act
  if [[ $after != "-" ]]; then t=$(wait_hops "$after" 15) || { fail "$name: the router did not converge"; }; fi
  wait "$cpid" || true
  local r
  r=$(awk -v killed="$killed" '
    $1 == "R" { n++; if ($4 != "ok") f++ }
    $1 == "L" { if (!($2 in seen)) { seen[$2] = 1; l++ }
                if ($4 == "broken") { if (!($2 in gone)) { gone[$2] = 1; if (last[$2] == killed) k++; else b++ } }
                else last[$2] = $5 }
    END { printf "%d %d %d %d %d", n, f, l, b, k }' "$out")
  read -r n f l b k <<<"$r"
  printf '%-13s %9s %9s %7s %7s %9s %s\n' "$name" "$t" "$n" "$f" "$l" "$b" "${6:-}$( ((k)) && echo " (+$k on $killed, on purpose)")"
  ((f > 0)) && { awk '$1 == "R" && $4 != "ok" { $1 = $2 = $3 = ""; print "  failed:" $0 }' "$out" | head -3 || true; }
  ((n > 0)) || fail "$name: no request completed"
  ((f <= max_failed)) || { fail "$name: $f new requests failed (budget $max_failed)"; grep ' fail ' "$out" | head -5 || true; }
  ((b == 0)) || { fail "$name: $b long-lived connections broken (budget 0)"; grep ' broken ' "$out" | head -5 || true; }
}

act_none() { :; }
act_drain() { ns d3 "$HD" ctl --socket "$W/d3.sock" withdraw "$VIP" >/dev/null; }
act_daemon_kill() { kill -9 "${HD_PID[1]}"; }
act_added_back() { start_hd 1; }
act_bird_kill() { kill -9 "${BIRD_PID[d2]}"; }
act_quorum_one() { for r in 1 2 3 4; do ns d3 ip route add prohibit "10.77.0.2$r/32"; done; }
act_rs_dies() { kill -9 "${RS_PID[4]}"; }
act_host_dies() { ns d1 ip link set eth0 down; }
for sc in $SCENARIOS; do
  case $sc in
    steady)
      scenario steady act_none - 0 -
      c1=$(conns 1) c2=$(conns 2) c3=$(conns 3)
      echo "steady: new connections scheduled per director (IPVS stats): d1 $c1, d2 $c2, d3 $c3"
      for r in 1 2 3 4; do
        n=0; for i in 1 2 3; do n=$((n + $(ns "d$i" ipvsadm -Ln --stats --exact -t "$VIP:80" | awk -v rs="10.77.0.2$r:80" '$2 == rs { s = $3 } END { print s + 0 }'))); done
        printf ' rs%s %s' "$r" "$n"
      done; echo " (new connections per real server, all directors)"
      for c in "$c1" "$c2" "$c3"; do ((c > 0)) || fail "steady: a director took no connection (ECMP share $c1/$c2/$c3)"; done ;;
    drain)
      scenario drain act_drain "$(want 1 2)" 0 - "ctl withdraw on d3"
      ns d3 "$HD" ctl --socket "$W/d3.sock" announce "$VIP" >/dev/null
      wait_hops "$(want 1 2 3)" 15 >/dev/null ;;
    daemon-kill)
      scenario daemon-kill act_daemon_kill "$(want 2 3)" 2 - "SIGKILL hadirector on d1"
      start_hd 1  # each scenario starts from all three serving
      wait_hops "$(want 1 2 3)" 15 >/dev/null ;;
    added-back)
      kill -9 "${HD_PID[1]}"
      wait_hops "$(want 2 3)" 15 >/dev/null
      sleep 1  # what ECMP moved settles on d2 and d3
      scenario added-back act_added_back "$(want 1 2 3)" 2 - "d1 restarted" ;;
    bird-kill)
      scenario bird-kill act_bird_kill "$(want 1 3)" 2 - "SIGKILL BIRD on d2"
      start_bird d2
      wait_hops "$(want 1 2 3)" 30 >/dev/null ;;
    quorum-one)
      # Until its check falls (200 ms) and the router moves (~0.3 s), d3 takes a third of the
      # new connections and cannot reach a server: their SYNs are lost, most are retried in
      # time (the SYN RTO is 1 s, the client waits 2 s).
      scenario quorum-one act_quorum_one "$(want 1 2)" 8 - "d3 alone loses its real servers"
      for r in 1 2 3 4; do ns d3 ip route del prohibit "10.77.0.2$r/32"; done
      wait_hops "$(want 1 2 3)" 15 >/dev/null ;;
    rs-dies)
      scenario rs-dies act_rs_dies - 6 rs4 "r4's server stops"
      start_rs 4 ;;
    host-dies)
      # The host is gone: nothing tells the router but the BGP hold time (3 s).
      JUDGE_SAVED=$JUDGE; JUDGE=0
      scenario host-dies act_host_dies "$(want 2 3)" 0 - "d1's link cut (hold time)"
      JUDGE=$JUDGE_SAVED
      ns d1 ip link set eth0 up
      ns d1 ip route replace default via 10.77.0.1  # went with the link
      wait_hops "$(want 1 2 3)" 30 >/dev/null ;;
    *) echo "lab: unknown scenario $sc" >&2; exit 2 ;;
  esac
done

echo "router's next hops now: $(hops)"
for i in 1 2 3; do echo "-- d$i IPVS"; ns "d$i" ipvsadm -Ln | tail -n +3; done
if ((!JUDGE)); then echo "lab: nothing judged (LAB_JUDGE=0)"; elif ((FAILED == 0)); then echo "lab: every budget kept"; fi
exit "$FAILED"
