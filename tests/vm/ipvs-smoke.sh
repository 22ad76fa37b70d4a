#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Smoke test for the IPVS test VM: boots Debian's kernel (tests/vm/run-in-vm.sh),
# configures IPVS with ipvsadm, checks netns/veth and NAT forwarding, and
# asserts on the output here, on the host.  Exit 77 = skipped (tools missing).
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
for t in qemu-system-x86_64 busybox cpio depmod ipvsadm; do
  if ! command -v "$t" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$t && ! -x /sbin/$t ]]; then
    echo "SKIP: $t not installed (run scripts/install-vm-deps.sh)"; exit 77
  fi
done

t0=$(date +%s.%N)
out="$(mktemp)"; err="$(mktemp)"
trap 'rm -f "$out" "$err"' EXIT
set +e
"$HERE/run-in-vm.sh" --timeout 120 \
  --file "$HERE/ipvs-smoke.guest.sh:/smoke.sh" -- /smoke.sh >"$out" 2>"$err"
rc=$?
set -e
t1=$(date +%s.%N)
cat "$out"
cat "$err" >&2

fail=0
check() {  # check DESCRIPTION EXTENDED-REGEX
  if grep -qE "$2" "$out"; then echo "ok: $1"; else echo "FAIL: $1 (no line matching /$2/)"; fail=1; fi
}
if ((rc != 0)); then echo "FAIL: run-in-vm.sh exited $rc"; fail=1; fi
check "Debian kernel booted"          '^kernel: [0-9]+\.[0-9]+\.[0-9]+-[0-9]+-amd64$'
check "ip_vs loaded"                  '^modules: .*\bip_vs\b'
check "IPVS version banner"           '^IP Virtual Server version'
check "service 10.0.0.1:80 wrr"       '^TCP +10\.0\.0\.1:80 +wrr *$'
check "real server 10.0.0.2:80 Masq w3" '^ +-> +10\.0\.0\.2:80 +Masq +3 +0 +0 *$'
check "netns + veth"                  '^NETNS_VETH_OK$'
check "NAT forwarding client->VIP->RS" '^HTTP_BODY=hello-from-rs1$'
check "IPVS connection entry"         '^TCP +[0-9:]+ +[A-Z_]+ +172\.16\.0\.2:[0-9]+ +172\.16\.0\.100:8080 +10\.0\.0\.2:80 *$'
if grep -q '^module load failures:' "$out"; then echo "FAIL: some modules did not load"; fail=1; fi
echo "boot: $(grep -o 'boot-to-command [0-9.]* s' "$err" || echo '?'); smoke test total: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
((fail == 0)) && echo "PASS: vm_ipvs_smoke" || echo "FAILED: vm_ipvs_smoke"
exit "$fail"
