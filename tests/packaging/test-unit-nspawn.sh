#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The packaged unit under a real systemd, without touching this machine:
# boots this machine's own OS (a throwaway overlay of / on tmpfs) in
# systemd-nspawn with a private network namespace, installs the .deb there and
# checks what systemd-analyze cannot: Type=notify start, reload (valid and
# invalid file), stop, the sandbox as the daemon and its scripts see it
# (net sysctls writable under ProtectKernelTunables, the rest of /proc/sys and
# /etc read-only, capabilities, SCHED_FIFO, socket families, ping), and the
# maintainer scripts (not started on install, try-restart on upgrade, stop on
# remove, enable links removed on purge).
#
#   test-unit-nspawn.sh PATH.deb
#   test-unit-nspawn.sh --build-dir DIR     `cpack -G DEB` in DIR (already built) first
#
# Needs root, systemd-nspawn (apt-get install systemd-container) and overlayfs.
# Exit 0 all PASS, 1 a FAIL, 77 cannot run here.
set -uo pipefail

[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
command -v systemd-nspawn >/dev/null || { echo "SKIP: no systemd-nspawn (apt-get install systemd-container)"; exit 77; }
[[ -x /lib/systemd/systemd ]] || { echo "SKIP: this OS has no systemd to boot"; exit 77; }
if [[ ${1:-} == --build-dir ]]; then
  log=$(cd "${2:?--build-dir needs a directory}" && cpack -G DEB 2>&1)
  deb=$(sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' <<<"$log" | tail -1)
  [[ -f $deb ]] || { echo "FAIL: cpack -G DEB in $2"; echo "$log"; exit 1; }
else
  deb=$(realpath "${1:?usage: test-unit-nspawn.sh PATH.deb | --build-dir DIR}")
fi
[[ -f $deb ]] || { echo "FAIL: no package at $deb"; exit 1; }
echo "package: $deb"

work=$(mktemp -d /tmp/hd-nspawn.XXXXXX)
cleanup() {
  mountpoint -q "$work/ov/root" && umount "$work/ov/root"
  mountpoint -q "$work/ov" && umount "$work/ov"
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/in" "$work/out" "$work/ov"
mount -t tmpfs tmpfs "$work/ov" || { echo "SKIP: cannot mount tmpfs"; exit 77; }
mkdir -p "$work/ov/upper" "$work/ov/work" "$work/ov/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/ov/upper,workdir=$work/ov/work" "$work/ov/root" ||
  { echo "SKIP: cannot mount an overlay of /"; exit 77; }
cp "$deb" "$work/in/hadirector.deb"

cat >"$work/in/hdtest.service" <<'EOF'
[Unit]
Description=hadirector packaging test
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/bash /hdin/inner.sh
StandardOutput=append:/hdout/log
StandardError=append:/hdout/log
ExecStopPost=/bin/sh -c 'systemctl poweroff --no-block >/dev/null 2>&1'
EOF

cat >"$work/in/probe.sh" <<'EOF'
# Runs with the installed unit's sandbox, as the daemon and its scripts would.
t() { local what=$1; shift; if "$@" >/dev/null 2>&1; then echo "PASS: sandbox: $what"; else echo "FAIL: sandbox: $what"; fi; }
t "net sysctl writable (arp_ignore)" sh -c 'echo 1 > /proc/sys/net/ipv4/conf/lo/arp_ignore'
t "net sysctl writable (arp_announce)" sh -c 'echo 2 > /proc/sys/net/ipv4/conf/all/arp_announce'
t "other sysctls read-only" sh -c '! echo x > /proc/sys/kernel/domainname'
t "/etc read-only" sh -c '! touch /etc/hd-probe'
t "/run/hadirector writable" sh -c 'touch /run/hadirector/p && rm /run/hadirector/p'
t "/var/lib/hadirector writable (overrides)" sh -c 'touch /var/lib/hadirector/p && rm /var/lib/hadirector/p'
t "/root hidden" sh -c '! ls /root'
t "capabilities = NET_ADMIN NET_RAW SYS_NICE" sh -c 'grep -q "^CapBnd:.*0000000000803000" /proc/self/status'
t "no new privileges" sh -c 'grep -q "^NoNewPrivs:.*1" /proc/self/status'
t "SCHED_FIFO allowed" chrt -f 10 true
t "rtnetlink: add an address" sh -c 'ip addr add 10.255.255.1/32 dev lo && ip addr del 10.255.255.1/32 dev lo'
t "AF_PACKET socket" python3 -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)'
t "raw IPPROTO_VRRP socket" python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)'
t "AF_NETLINK generic socket" python3 -c 'import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)'
t "other families refused" python3 -c 'import socket,sys
try: socket.socket(socket.AF_BLUETOOTH, socket.SOCK_RAW, 0)
except OSError: sys.exit(0)
sys.exit(1)'
t "ping works in a script" ping -c1 -W2 127.0.0.1
EOF

cat >"$work/in/inner.sh" <<'EOF'
t() { local what=$1; shift; if "$@" >/dev/null 2>&1; then echo "PASS: $what"; else echo "FAIL: $what"; fi; }
# Overlay only: a policy-rc.d that denies everything (container images) would
# keep deb-systemd-invoke from acting as it does on a real host.
rm -f /usr/sbin/policy-rc.d
U=hadirector.service
mainpid() { systemctl show -p MainPID --value $U; }
t "dpkg -i" dpkg -i /hdin/hadirector.deb
t "not enabled after install" sh -c "! systemctl -q is-enabled $U"
t "not started after install" sh -c "! systemctl -q is-active $U"
t "systemctl start (Type=notify, READY=1)" systemctl start $U
t "active" systemctl -q is-active $U
t "STATUS= reaches systemd" sh -c "systemctl show -p StatusText --value $U | grep -q ."
t "hadirector status over the control socket" /usr/sbin/hadirector status
t "systemctl reload (valid file)" systemctl reload $U
echo 'bogus = ' >> /etc/hadirector/hadirector.toml
t "systemctl reload fails on an invalid file" sh -c "! systemctl reload $U"
t "still active after the rejected reload" systemctl -q is-active $U
sed -i '$d' /etc/hadirector/hadirector.toml
t "systemctl stop" systemctl stop $U
t "stopped" sh -c "! systemctl -q is-active $U"

# A VRRP key as a systemd credential (docs/vrrp-auth.md): the check in ExecStartPre, the
# daemon and ExecReload all read it from $CREDENTIALS_DIRECTORY; a shell outside the unit
# has no such directory and the check says so.
cp /etc/hadirector/hadirector.toml /run/hd-conf.orig
install -d -m 0700 /etc/hadirector/credstore
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > /etc/hadirector/credstore/vrrp-key-1
chmod 0600 /etc/hadirector/credstore/vrrp-key-1
mkdir -p /etc/systemd/system/$U.d
printf '[Service]\nLoadCredential=vrrp-key-1:/etc/hadirector/credstore/vrrp-key-1\n' \
  > /etc/systemd/system/$U.d/vrrp-key.conf
printf '\n[global.vrrp_auth]\nkeys = [ { id = 1, secret = "credential:vrrp-key-1" } ]\n' \
  >> /etc/hadirector/hadirector.toml
systemctl daemon-reload
t "start with a VRRP key from LoadCredential=" systemctl start $U
t "reload with the credential" systemctl reload $U
t "check outside the unit names the missing \$CREDENTIALS_DIRECTORY" sh -c \
  "/usr/sbin/hadirector check -c /etc/hadirector/hadirector.toml 2>&1 | grep -q 'CREDENTIALS_DIRECTORY is not set'"
systemctl stop $U
rm -rf /etc/systemd/system/$U.d /etc/hadirector/credstore
cp /run/hd-conf.orig /etc/hadirector/hadirector.toml
systemctl daemon-reload

sed -e 's#^ExecStartPre=.*##; s#^ExecReload=.*##' \
    -e 's#^Type=notify#Type=oneshot\nStandardOutput=append:/hdout/log\nStandardError=append:/hdout/probe.err#' \
    -e 's#^ExecStart=.*#ExecStart=/bin/bash /hdin/probe.sh#' \
    /lib/systemd/system/$U > /run/systemd/system/hdprobe.service
systemctl daemon-reload
t "sandbox probe ran" systemctl start hdprobe.service

systemctl start $U; before=$(mainpid)
dpkg -i /hdin/hadirector.deb >/dev/null 2>&1
after=$(mainpid)
t "upgrade restarts a running daemon" sh -c "[ '$before' != '$after' ] && systemctl -q is-active $U"
systemctl stop $U
dpkg -i /hdin/hadirector.deb >/dev/null 2>&1
t "upgrade leaves a stopped daemon stopped" sh -c "! systemctl -q is-active $U"
systemctl enable $U >/dev/null 2>&1
dpkg -i /hdin/hadirector.deb >/dev/null 2>&1
t "upgrade keeps it enabled" systemctl -q is-enabled $U
systemctl start $U
dpkg -r hadirector >/dev/null 2>&1
t "remove stops the daemon" sh -c "! systemctl -q is-active $U"
t "remove keeps the conffile" test -f /etc/hadirector/hadirector.toml
dpkg --purge hadirector >/dev/null 2>&1
t "purge removes the conffile" test ! -e /etc/hadirector
t "purge removes the enable link" test ! -e /etc/systemd/system/multi-user.target.wants/$U
t "purge removes /run/hadirector" test ! -e /run/hadirector
t "purge removes /var/lib/hadirector" test ! -e /var/lib/hadirector
echo DONE
EOF

echo "booting this OS in systemd-nspawn (overlay on tmpfs, private network)..."
timeout ${HD_NSPAWN_TIMEOUT:-300} systemd-nspawn -q -D "$work/ov/root" --keep-unit --register=no --link-journal=no \
  --private-network --uuid="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" -M hd-pkg-test \
  --bind-ro="$work/in:/hdin" --bind="$work/out:/hdout" \
  --bind-ro="$work/in/hdtest.service:/etc/systemd/system/hdtest.service" \
  -b -- --unit=hdtest.service >"$work/console.log" 2>&1
rc=$?
[[ -f $work/out/log ]] && cat "$work/out/log"
[[ $rc -ne 0 ]] && { echo "nspawn exit $rc; console tail:"; tail -15 "$work/console.log"; }
[[ -s $work/out/probe.err ]] && sed 's/^/  probe stderr: /' "$work/out/probe.err"
if ! grep -q '^DONE$' "$work/out/log" 2>/dev/null; then
  echo "FAIL: the container did not finish the test (nspawn exit $rc); console:"
  tail -30 "$work/console.log"
  exit 1
fi
if grep -q '^FAIL' "$work/out/log"; then echo "FAIL: $(grep -c '^FAIL' "$work/out/log") check(s)"; exit 1; fi
echo "PASS: all checks"
