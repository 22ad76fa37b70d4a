#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs checkers_bench with its TCP targets behind a TUN device in a fresh network
# namespace: a responder process pinned to CPU 1 busy-polls the device and answers
# each SYN as a remote host would (SYN-ACK, or RST on a closed port); the checker is
# pinned to CPU 0. Nothing of the "remote" side runs in the checker's context, and the
# checker never has to wake the responder, so no inter-processor interrupt is charged to
# it either: what it pays is what it would pay with a NIC. (remote.sh's veth + RPS model
# charges the checker an IPI per packet sent, which on this VM is a hypervisor exit.)
# usage: tun.sh PATH/TO/checkers_bench [bench args...]   (root; 2+ CPUs; --http 0)
set -euo pipefail
BENCH="$(readlink -f "$1")"; shift
NS="hdct$$"
cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev hdtun mode tun
ip -n "$NS" addr add 10.203.0.1/16 dev hdtun
ip -n "$NS" link set hdtun txqueuelen 10000 up  # the harness must not drop
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ip netns exec "$NS" "$BENCH" --tun hdtun --target-addr 10.203.0.2 "$@" && rc=0 || rc=$?
# Losses toward the responder, if any (a device queue overflow).
echo "tun device: $(ip -n "$NS" -s link show hdtun | awk '/TX:/{getline; print "tx packets " $2 ", dropped " $4}')"
exit "$rc"
