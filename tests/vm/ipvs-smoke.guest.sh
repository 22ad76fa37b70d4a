#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs INSIDE the test VM (see ipvs-smoke.sh). Prints what the host asserts on.
set -eu
echo "kernel: $(uname -r)"
echo "guest uptime at start: $(cut -d' ' -f1 /proc/uptime) s"
echo "modules: $(lsmod | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' ')"
if [ -s /run/hd-vm-modules.failed ]; then echo "module load failures:"; cat /run/hd-vm-modules.failed; fi

# 1. IPVS via ipvsadm (the brief's service)
ipvsadm -A -t 10.0.0.1:80 -s wrr
ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3
echo "--- ipvsadm -Ln --exact"
ipvsadm -Ln --exact

# 2. network namespaces + veth (real iproute2 `ip`)
ip netns add rs1
ip netns add cl
ip link add dir-rs type veth peer name rs-dir
ip link set rs-dir netns rs1
ip link add dir-cl type veth peer name cl-dir
ip link set cl-dir netns cl
ip addr add 10.0.0.1/24 dev dir-rs && ip link set dir-rs up
ip addr add 172.16.0.1/24 dev dir-cl && ip link set dir-cl up
ip -n rs1 link set lo up
ip -n rs1 addr add 10.0.0.2/24 dev rs-dir && ip -n rs1 link set rs-dir up
ip -n rs1 route add default via 10.0.0.1
ip -n cl link set lo up
ip -n cl addr add 172.16.0.2/24 dev cl-dir && ip -n cl link set cl-dir up
ping -c1 -W3 10.0.0.2 >/dev/null
ip netns exec cl ping -c1 -W3 172.16.0.1 >/dev/null
echo "--- netns rs1:"; ip -n rs1 -br addr
echo "NETNS_VETH_OK"

# 3. end to end: client netns -> VIP (NAT) -> real server netns
echo 1 >/proc/sys/net/ipv4/ip_forward
ip addr add 172.16.0.100/32 dev lo
ipvsadm -A -t 172.16.0.100:8080 -s rr
ipvsadm -a -t 172.16.0.100:8080 -r 10.0.0.2:80 -m
mkdir -p /tmp/www && echo "hello-from-rs1" >/tmp/www/index.html
ip netns exec rs1 httpd -p 10.0.0.2:80 -h /tmp/www
# (no wget -T: busybox 1.35 wget segfaults with it; use timeout instead)
body="$(timeout 10 ip netns exec cl wget -q -O- http://172.16.0.100:8080/)"
echo "HTTP_BODY=$body"
# (--stats counters are folded in by the estimator every 2 s: use the
#  connection table, which is immediate)
echo "--- ipvsadm -Lnc"
ipvsadm -Lnc
echo "guest uptime at end: $(cut -d' ' -f1 /proc/uptime) s"
