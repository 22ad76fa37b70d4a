#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# #18's differential test: the same lab and config (lab.sh) with `dataplane = "kernel"` (IPVS,
# in Debian's kernel under qemu) and with `dataplane = "nftables"` (this machine's kernel),
# the same traffic and health events; compare.py judges that both spread new connections
# alike per real server and take the same servers out and back.
# usage: run.sh PATH/TO/hadirector PATH/TO/hadirector-drill
# Exit: 0 both alike, 1 not, 77 skipped (tools missing).
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
. "$HERE/../require-tools.sh"
require_tools qemu-system-x86_64 busybox cpio depmod ipvsadm nft nsenter
HD="$(readlink -f "$1")"
HDD="$(readlink -f "${2:?usage: run.sh PATH/TO/hadirector PATH/TO/hadirector-drill}")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== nftables, this kernel ($(uname -r))"
bash "$HERE/lab.sh" nftables "$HD" "$HDD" | tee "$work/nftables"
echo "== IPVS, Debian's kernel in the VM"
set +e
"$HERE/../run-in-vm.sh" --timeout 200 --mem 1024 --smp 2 --file "$HD" --file "$HDD" \
  --file "$HERE/lab.sh:/lab.sh" -- bash /lab.sh kernel "$HD" "$HDD" >"$work/kernel" 2>"$work/err"
rc=$?
set -e
cat "$work/kernel"
cat "$work/err" >&2
if ((rc != 0)); then echo "FAIL: the VM run exited $rc"; exit 1; fi
python3 "$HERE/compare.py" "$work/kernel" "$work/nftables"
