#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside the VM: the hadirector daemon programs IPVS from its config.
# Prints "ok: ..." / "FAIL: ..." lines; exits non-zero on any failure.
HD=${HD:-hadirector}
HDD=${HDD:-hadirector-drill}  # its httpd: the check targets
W=/tmp/hdvm
mkdir -p $W
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
ops() { $HD status --json --socket $W/c.sock | grep -o "\"$1\": [0-9]*" | grep -o '[0-9]*$'; }
wait_sock() { i=0; while [ $i -lt 100 ] && ! $HD status --socket $W/c.sock >/dev/null 2>&1; do sleep 0.05; i=$((i+1)); done; }
# No fixed sleeps (a reload under emulation takes what it takes): poll for the condition.
until_ok() {  # until_ok SECONDS CMD...: poll every 0.1 s
  n=$(($1 * 10)); shift; i=0
  while [ $i -lt $n ]; do "$@" && return 0; sleep 0.1; i=$((i+1)); done
  return 1
}
table_has() { ipvsadm -Ln | grep -qE "$1"; }
table_lacks() { ! ipvsadm -Ln | grep -qE "$1"; }
at_least() { v=$(ops "$1"); [ "${v:-0}" -ge "$2" ]; }  # at_least STATUS-KEY N (a key unique in status)
reloads_failed() { $HD status --json --socket $W/c.sock | tr -d '\n' | grep -o '"reloads": *{[^}]*}' | grep -o '"failed": [0-9]*' | grep -o '[0-9]*$'; }
one_failed_reload() { [ "$(reloads_failed)" = 1 ]; }
# reconciled N: N more reconciles than now have finished (the daemon's periodic pass
# or the one a reload runs), so what is asserted next is what the daemon settled on.
reconciled() { r0=$(ops reconciles); until_ok 10 at_least reconciles $((${r0:-0} + $1)); }
all_ops() { t=0; for k in add_service edit_service del_service add_dest edit_dest del_dest; do t=$((t + $(ops $k))); done; echo $t; }
config() {  # config WEIGHT_OF_12 ON_STOP
cat > $W/hd.toml <<TOML
[global]
control_socket = "$W/c.sock"
reconcile_interval = "500ms"
ipvs_on_stop = "$2"
ipvs_timeouts = { tcp = 900, tcpfin = 30, udp = 120 }

[[virtual_server]]
address = "10.0.0.1"
port = 80
scheduler = "wrr"
forwarding = "nat"
persistence_timeout = 300
persistence_netmask = 24
  [[virtual_server.real_server]]
  address = "10.0.1.11"
  port = 8080
  weight = 3
  upper_threshold = 100
  lower_threshold = 50
  [[virtual_server.real_server]]
  address = "10.0.1.12"
  port = 8080
  weight = $1

[[virtual_server]]
fwmark = 7
scheduler = "sh"
scheduler_flags = ["sh-port", "sh-fallback"]
forwarding = "dr"
  [[virtual_server.real_server]]
  address = "10.0.2.21"
  port = 0

[[virtual_server]]
address = "10.0.0.5"
port = 80
forwarding = "tun"
  [[virtual_server.real_server]]
  address = "10.0.3.1"
  tunnel_type = "gue"
  tunnel_port = 6080
  tunnel_checksum = "csum"

[[virtual_server]]
address = "2001:db8::1"
port = 443
protocol = "tcp"
scheduler = "mh"
forwarding = "tun"
  [[virtual_server.real_server]]
  address = "2001:db8:1::11"
  port = 443
TOML
}

config 1 keep
$HD check -c $W/hd.toml || bad "config valid"
$HD run -c $W/hd.toml > $W/log1 2>&1 &
PID=$!
wait_sock
until_ok 10 at_least reconciles 1 || bad "first reconcile"
T=$(ipvsadm -Ln --exact)
echo "$T"
echo "$T" | grep -qE '^TCP +10\.0\.0\.1:80 +wrr +persistent 300 mask 255\.255\.255\.0' && ok "service programmed (wrr, persistence 300 /24)" || bad "service programmed"
echo "$T" | grep -qE '^ +-> +10\.0\.1\.11:8080 +Masq +3 ' && ok "rs 11 Masq weight 3" || bad "rs 11"
echo "$T" | grep -qE '^ +-> +10\.0\.1\.12:8080 +Masq +1 ' && ok "rs 12 Masq weight 1" || bad "rs 12"
echo "$T" | grep -qE '^FWM +7 +sh \(sh-fallback,sh-port\)' && ok "fwmark service sh with flags" || bad "fwmark service"
echo "$T" | grep -qE '^ +-> +10\.0\.2\.21:0 +Route +1 ' && ok "fwmark rs Route" || bad "fwmark rs"
echo "$T" | grep -qE '^TCP +\[2001:db8::1\]:443 +mh' && ok "IPv6 service mh" || bad "IPv6 service"
echo "$T" | grep -qE '^ +-> +\[2001:db8:1::11\]:443 +Tunnel +1 ' && ok "IPv6 rs Tunnel" || bad "IPv6 rs"
ipvsadm -Ln --tun-info | grep -qE '10\.0\.3\.1:80 +Tunnel +gue:6080:\+c' && ok "gue tunnel with checksum" || bad "gue tunnel"
ipvsadm -Ln --thresholds | grep -qE '10\.0\.1\.11:8080 +100 +50' && ok "thresholds 100/50" || bad "thresholds"
ipvsadm -L --timeout | grep -q 'Timeout (tcp tcpfin udp): 900 30 120' && ok "kernel timeouts" || bad "kernel timeouts"
[ "$(ops add_service)" = 4 ] && ok "4 add_service" || bad "add_service = $(ops add_service)"

# Restart with the same config: adopt, zero operations.
kill -TERM $PID; wait $PID
ipvsadm -Ln | grep -q '10.0.0.1:80' && ok "table kept on stop (ipvs_on_stop = keep)" || bad "table kept on stop"
$HD run -c $W/hd.toml > $W/log2 2>&1 &
PID=$!
wait_sock
until_ok 10 at_least reconciles 2 || bad "restart: two reconciles"
total=$(all_ops)
[ "$total" = 0 ] && ok "restart adopts the table: 0 operations" || bad "restart issued $total operations"

# Reload with one weight changed: exactly one operation.
config 5 keep
kill -HUP $PID
until_ok 10 at_least generation 2 || bad "reload applied (config generation 2)"
reconciled 1 || bad "reconcile after the reload"
[ "$(ops edit_dest)" = 1 ] && ok "reload: 1 edit_dest" || bad "reload edit_dest = $(ops edit_dest)"
total=0
for k in add_service edit_service del_service add_dest del_dest; do total=$((total + $(ops $k))); done
[ "$total" = 0 ] && ok "reload: nothing else" || bad "reload: $total other operations"
ipvsadm -Ln | grep -qE '10\.0\.1\.12:8080 +Masq +5 ' && ok "kernel shows weight 5" || bad "weight 5"

# A bad reload (a weight changed and an unknown key) is rejected whole: the kernel table
# and the operation counts stay exactly as they were.
snapshot() { ipvsadm -Ln --exact; ipvsadm -Ln --thresholds; ipvsadm -Ln --tun-info; ipvsadm -L --timeout; }
before=$(snapshot)
ops_before=$(all_ops)
config 9 keep
echo "bogus_key = 1" >> $W/hd.toml
kill -HUP $PID
until_ok 10 one_failed_reload && ok "bad reload rejected (reloads.failed = 1)" || bad "bad reload not counted"
reconciled 2 || bad "reconciles after the bad reload"
[ "$(snapshot)" = "$before" ] && ok "bad reload: IPVS table unchanged" \
  || { bad "bad reload changed the IPVS table"; snapshot; }
[ "$(all_ops)" = "$ops_before" ] && ok "bad reload: no operation" || bad "bad reload: $(($(all_ops) - ops_before)) operations"
[ "$(ops generation)" = 2 ] && ok "bad reload: config generation still 2" || bad "generation $(ops generation)"
config 5 keep

# Drift: someone deletes a real server; the next reconcile restores it.
ipvsadm -d -t 10.0.0.1:80 -r 10.0.1.11:8080
ipvsadm -A -t 10.0.0.99:25 -s rr
until_ok 10 table_has '10\.0\.1\.11:8080 +Masq +3 ' && ok "drift repaired" || bad "drift not repaired"
reconciled 1
[ "$(ops add_dest)" = 1 ] && ok "drift: 1 add_dest" || bad "drift add_dest = $(ops add_dest)"
[ "$(ops foreign_services)" = 1 ] && ok "foreign service reported" || bad "foreign = $(ops foreign_services)"

# Cleanup on stop per config: remove ours, leave the foreign one.
config 5 remove
kill -HUP $PID
until_ok 10 at_least generation 3 || bad "reload to ipvs_on_stop = remove applied"
kill -TERM $PID; wait $PID
T=$(ipvsadm -Ln)
echo "$T" | grep -q '10.0.0.1:80' && bad "our service left after stop" || ok "our services removed on stop"
echo "$T" | grep -q '10.0.0.99:25' && ok "foreign service left alone" || bad "foreign service removed"
# Health drives the kernel table: checks against local HTTP servers (hadirector-drill httpd,
# which answers 500 while its fail file exists), read back with ipvsadm.
for p in 8081 8082; do
  $HDD httpd --listen 127.0.0.1:$p --id s$p --fail-file $W/fail$p > $W/httpd$p.log 2>&1 &
  eval HTTPD$p=\$!
done
cat > $W/health.toml <<TOML
[global]
control_socket = "$W/h.sock"
reconcile_interval = "500ms"
ipvs_on_stop = "remove"

[[virtual_server]]
address = "10.0.5.1"
port = 80
quorum = 2
sorry_server = { address = "10.0.6.1", port = 80 }
  [[virtual_server.real_server]]
  address = "127.0.0.1"
  port = 8081
  check = { type = "http", path = "/", interval = "200ms", timeout = "150ms", rise = 1, fall = 1 }
  [[virtual_server.real_server]]
  address = "127.0.0.1"
  port = 8082
  check = { type = "http", path = "/", interval = "200ms", timeout = "150ms", rise = 1, fall = 1 }

[[virtual_server]]
address = "10.0.5.2"
port = 80
inhibit_on_failure = true
slow_start = "3s"
  [[virtual_server.real_server]]
  address = "127.0.0.1"
  port = 8083
  weight = 5
  check = { type = "tcp", interval = "200ms", timeout = "150ms", rise = 1, fall = 1 }
TOML
$HD run -c $W/health.toml > $W/log4 2>&1 &
HPID=$!
until_ok 10 table_has '127\.0\.0\.1:8082 +Masq +1 ' && table_has '127\.0\.0\.1:8081 +Masq +1 ' \
  && ok "health: both checked servers up and in the table" || bad "health: servers up"
table_lacks '10\.0\.6\.1:80' && ok "health: quorum met, no sorry server" || bad "health: sorry server while quorum met"
until_ok 5 table_has '127\.0\.0\.1:8083 +Masq +0 ' && ok "health: inhibit_on_failure keeps a down server at weight 0" \
  || bad "health: inhibit weight 0"
touch $W/fail8082
until_ok 5 table_lacks '127\.0\.0\.1:8082' && ok "health: a server answering 500 leaves the table" || bad "health: 500 server removed"
table_has '10\.0\.6\.1:80 +Masq' && table_lacks '127\.0\.0\.1:8081' \
  && ok "health: quorum lost, the sorry server takes the traffic" || bad "health: sorry server on quorum loss"
rm -f $W/fail8082
until_ok 5 table_has '127\.0\.0\.1:8082 +Masq +1 ' && table_lacks '10\.0\.6\.1:80' \
  && ok "health: back, quorum regained, sorry server gone" || bad "health: quorum regained"
$HDD httpd --listen 127.0.0.1:8083 --id s8083 --fail-file $W/fail8083 > $W/httpd8083.log 2>&1 &
HTTPD8083=$!
until_ok 5 table_has '127\.0\.0\.1:8083 +Masq +[1-4] ' && ok "health: slow start begins below the full weight" \
  || bad "health: slow start ramp not seen"
until_ok 6 table_has '127\.0\.0\.1:8083 +Masq +5 ' && ok "health: slow start reaches weight 5" || bad "health: full weight"
kill $HTTPD8083; wait $HTTPD8083 2>/dev/null
until_ok 5 table_has '127\.0\.0\.1:8083 +Masq +0 ' && ok "health: inhibit_on_failure: down again -> weight 0, still in the table" \
  || bad "health: inhibit after a fall"
kill -TERM $HPID; wait $HPID
kill $HTTPD8081 $HTTPD8082 2>/dev/null; wait $HTTPD8081 $HTTPD8082 2>/dev/null
ipvsadm -Ln | grep -qE '10\.0\.5\.[12]:80' && bad "health: services left after stop (remove)" || ok "health: services removed on stop"
# Runtime drain (hadirector ctl) with a real connection through IPVS: the classic LVS-NAT
# topology, a client namespace -> this host (the director, forwarding) -> a real server
# namespace whose default route is the director. The drill's client holds one keep-alive
# connection (a request every 200 ms, "L ... ok" per answer) to its httpd.
ip netns add dcli; ip netns add drs
ip link add hdc0 type veth peer name eth0 netns dcli
ip link add hdr0 type veth peer name eth0 netns drs
ip addr add 10.0.8.1/24 dev hdc0; ip link set hdc0 up
ip addr add 10.0.7.1/24 dev hdr0; ip link set hdr0 up
ip addr add 10.0.8.100/32 dev hdc0
for n in dcli drs; do ip netns exec $n ip link set lo up; ip netns exec $n ip link set eth0 up; done
ip netns exec dcli ip addr add 10.0.8.2/24 dev eth0; ip netns exec dcli ip route add default via 10.0.8.1
ip netns exec drs ip addr add 10.0.7.2/24 dev eth0; ip netns exec drs ip route add default via 10.0.7.1
sysctl -qw net.ipv4.ip_forward=1
cat > $W/drain.toml <<TOML
[global]
control_socket = "$W/d.sock"
state_dir = "$W/d-state"
reconcile_interval = "500ms"
ipvs_on_stop = "remove"

[[virtual_server]]
address = "10.0.8.100"
port = 80
scheduler = "rr"
  [[virtual_server.real_server]]
  address = "10.0.7.2"
  port = 8080
TOML
$HD run -c $W/drain.toml > $W/log5 2>&1 &
DPID=$!
ctl() { $HD ctl --socket $W/d.sock "$@"; }
ip netns exec drs $HDD httpd --listen 10.0.7.2:8080 --id rs1 > $W/drs-httpd.log 2>&1 &
DHTTPD=$!
# hold_conn: one long-lived connection from the client through the VIP, its answers in $W/long.
hold_conn() {
  ip netns exec dcli $HDD client --target 10.0.8.100:80 --rate 0 --long 1 > $W/long 2>&1 &
  NCC=$!
}
answers() { grep -c '^L 0 .* ok ' $W/long; }
until_ok 10 table_has '10\.0\.7\.2:8080 +Masq +1 ' && ok "drain: real server in the table" || bad "drain: real server"
ctl events > $W/events 2>&1 &
EVPID=$!
hold_conn
until_ok 10 table_has '10\.0\.7\.2:8080 +Masq +1 +1 ' && ok "drain: one active connection through IPVS" \
  || { bad "drain: no active connection"; ipvsadm -Ln; }
# --wait: answered when the drain ends (here: when the connection closes), not before.
ctl drain 10.0.8.100:80 10.0.7.2:8080 --wait > $W/drain-wait 2>&1 &
WAITPID=$!
until_ok 5 table_has '10\.0\.7\.2:8080 +Masq +0 +1 ' && ok "drain: weight 0, the connection still active" \
  || bad "drain: weight 0 with the connection"
sleep 2.5  # two of the daemon's reads of the table (one per second while a drain is open)
table_has '10\.0\.7\.2:8080 +Masq +0 +1 ' && ok "drain: kept while a connection is active" || bad "drain: removed too early"
kill -0 $WAITPID 2>/dev/null && [ ! -s $W/drain-wait ] && ok "drain --wait: still waiting while a connection is active" \
  || { bad "drain --wait: answered early"; cat $W/drain-wait; }
n0=$(answers); sleep 1
[ "$(answers)" -gt "$n0" ] && ! grep -q broken $W/long && ok "drain: the established connection still carries requests" \
  || { bad "drain: established connection broken"; cat $W/long; }
kill $NCC; wait $NCC 2>/dev/null
until_ok 10 table_lacks '10\.0\.7\.2:8080' && ok "drain: removed once no active connection is left" \
  || { bad "drain: not removed after the last connection"; ipvsadm -Ln; }
ctl overrides | grep -q '"mode":"drained"' && ok "drain: recorded as drained" || bad "drain: not recorded"
wait $WAITPID && grep -q '"override":"drained","reason":"no active connection is left","waited_s":' $W/drain-wait \
  && ok "drain --wait: answered at the drain's end, with why" || { bad "drain --wait: answer"; cat $W/drain-wait; }
grep '"type":"ipvs"' $W/events | grep -q 'destination 10.0.7.2:8080' && ok "events: the IPVS operations" \
  || { bad "events: no ipvs event"; cat $W/events; }
grep '"type":"override"' $W/events | grep -q '"override":"drained","reason":"no active connection is left"' \
  && ok "events: the drain's end and why" || bad "events: no drained event"
ctl ready 10.0.8.100:80 10.0.7.2 | grep -q '"override":"none"' && until_ok 5 table_has '10\.0\.7\.2:8080 +Masq +1 ' \
  && ok "drain: ready puts it back" || bad "drain: ready"
hold_conn
until_ok 10 table_has '10\.0\.7\.2:8080 +Masq +1 +1 ' || bad "drain: second connection"
ctl drain 10.0.8.100:80 10.0.7.2:8080 --timeout 2s | grep -q '"override":"drain"' && ok "drain: ctl drain answered at once" \
  || bad "drain: ctl drain"
until_ok 10 table_lacks '10\.0\.7\.2:8080' && ok "drain: --timeout 2s removes it with a connection left" \
  || bad "drain: timeout"
grep -q 'drain done (its drain timeout passed)' $W/log5 && ok "drain: the log says why" || bad "drain: log line"
kill $NCC; wait $NCC 2>/dev/null
ctl maint 10.0.8.100:80 10.0.7.2:8080 > /dev/null
kill -TERM $DPID; wait $DPID
wait $EVPID && ok "events: the stream ends when the daemon stops" || bad "events: ctl events exit status"
$HD run -c $W/drain.toml > $W/log6 2>&1 &
DPID=$!
until_ok 10 ctl overrides >/dev/null 2>&1
ctl overrides | grep -q '"mode":"maint"' && table_lacks '10\.0\.7\.2:8080' && ok "drain: maint survives a restart" \
  || bad "drain: maint after restart"
kill -TERM $DPID; wait $DPID
kill $DHTTPD; wait $DHTTPD 2>/dev/null
ip netns del dcli; ip netns del drs; ip link del hdc0 2>/dev/null; ip link del hdr0 2>/dev/null
# The real-server role in tun mode (ipip exists in this kernel, not on the dev hosts).
ip netns add rs
ip netns exec rs ip link set lo up
ip netns exec rs sysctl -qw net.ipv4.conf.all.rp_filter=1
ip netns exec rs sysctl -qw net.ipv4.conf.tunl0.rp_filter=2
cat > $W/rs.toml <<TOML
[global]
control_socket = "$W/rs.sock"
runtime_dir = "$W/rs-run"
[realserver]
vips = [ { address = "10.0.9.100", mode = "tun" } ]
TOML
ip netns exec rs $HD run -c $W/rs.toml > $W/log3 2>&1 &
RSPID=$!
i=0; while [ $i -lt 100 ] && ! $HD status --socket $W/rs.sock >/dev/null 2>&1; do sleep 0.05; i=$((i+1)); done
tun_vip() { ip netns exec rs ip -o addr show dev tunl0 | grep -q '10.0.9.100/32'; }
until_ok 5 tun_vip && ok "tun: VIP on tunl0" || bad "tun: VIP on tunl0"
ip netns exec rs ip -o link show tunl0 | grep -q 'UP' && ok "tun: tunl0 up" || bad "tun: tunl0 up"
[ "$(ip netns exec rs sysctl -n net.ipv4.conf.all.rp_filter)" = 0 ] && ok "tun: all.rp_filter 0" || bad "tun: all.rp_filter"
[ "$(ip netns exec rs sysctl -n net.ipv4.conf.tunl0.rp_filter)" = 0 ] && ok "tun: tunl0.rp_filter 0" || bad "tun: tunl0.rp_filter"
[ "$(ip netns exec rs sysctl -n net.ipv4.conf.all.arp_ignore)" = 1 ] && ok "tun: arp_ignore 1" || bad "tun: arp_ignore"
kill -TERM $RSPID; wait $RSPID
ip netns exec rs ip -o addr show dev tunl0 | grep -q '10.0.9.100' && bad "tun: VIP left after stop" || ok "tun: VIP removed on stop"
[ "$(ip netns exec rs sysctl -n net.ipv4.conf.all.rp_filter)" = 1 ] && ok "tun: all.rp_filter restored" || bad "tun: all.rp_filter not restored"
[ "$(ip netns exec rs sysctl -n net.ipv4.conf.tunl0.rp_filter)" = 2 ] && ok "tun: tunl0.rp_filter restored" || bad "tun: tunl0.rp_filter not restored"
[ $fails = 0 ] && echo "PASS: vm_daemon_ipvs" || { echo "FAILED: vm_daemon_ipvs ($fails)"; cat $W/log1 $W/log2 $W/log3 $W/log4 $W/log5 $W/log6; }
[ $fails = 0 ]  # exit status 0 or 1 (a count of 77 would read as "skipped")
