#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs checkers_bench with its targets "remote": the responder in its own network
# namespace behind a veth pair, pinned to CPU 1, with RPS steering both veth ends'
# receive processing to CPU 1; the checker in another namespace, pinned to CPU 0.
# The server half of every handshake then runs off the checker's CPU, as it would on
# real servers, and the checker's CPU is its own: syscalls, its loop, its bookkeeping.
# usage: remote.sh PATH/TO/checkers_bench [bench args...]   (root; 2+ CPUs)
set -euo pipefail
BENCH="$(readlink -f "$1")"; shift
A="hdcb$$-a"; B="hdcb$$-b"
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
ip link add va netns "$A" type veth peer name vb netns "$B"
ip -n "$A" addr add 10.201.0.1/24 dev va; ip -n "$B" addr add 10.201.0.2/24 dev vb
for n in "$A" "$B"; do ip -n "$n" link set lo up; done
ip -n "$A" link set va up; ip -n "$B" link set vb up
ip netns exec "$A" sh -c 'echo 2 > /sys/class/net/va/queues/rx-0/rps_cpus'
ip netns exec "$B" sh -c 'echo 2 > /sys/class/net/vb/queues/rx-0/rps_cpus'
ip netns exec "$A" sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
ip netns exec "$B" sysctl -qw net.core.somaxconn=4096
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ip netns exec "$A" "$BENCH" --target-ns "$B" --target-addr 10.201.0.2 "$@"
