#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm_ipvs_backend: runs tests/vm/ipvs/ipvs_vm_test (NetlinkBackend + Reconciler,
# checked against ipvsadm) inside the test VM (tests/vm/run-in-vm.sh).
#   tests/vm/ipvs/run.sh BUILD/tests/vm/ipvs/ipvs_vm_test [gtest args...]
# Exit: the test's status; 77 = skipped (tools missing).
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
bin="$(readlink -f "${1:?usage: run.sh PATH/TO/ipvs_vm_test [gtest args]}")"
shift
. "$HERE/../require-tools.sh"
require_tools qemu-system-x86_64 busybox cpio depmod ipvsadm
t0=$(date +%s.%N)
set +e
"$HERE/../run-in-vm.sh" --timeout 120 --file "$bin" -- "$bin" --gtest_color=no "$@"
rc=$?
set -e
t1=$(date +%s.%N)
echo "vm_ipvs_backend: exit $rc, total $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
exit "$rc"
