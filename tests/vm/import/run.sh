#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# #15's differential test: every Debian sample config with virtual servers, and every such
# file of the shared corpus (../shared/corpus/keepalived-real), is run by
# keepalived itself (keepalived -C) and, imported by `hadirector import-keepalived`, by
# hadirector, each in its own network namespace of a real kernel (Debian's, under qemu);
# the two IPVS tables (services, schedulers, flags, persistence, real servers, forwarding,
# weights, as ipvsadm -Ln prints them) must be equal, with every real server up (checkers
# removed), with every real server down (checks failing) and with half of the checked ones
# up (mixed). cases.py says how.
# usage: run.sh PATH/TO/hadirector
# Exit: 0 all equal; 1 a difference; 77 skipped (tools missing).
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
. "$HERE/../require-tools.sh"
require_tools qemu-system-x86_64 busybox cpio depmod ipvsadm keepalived python3
HD="$(readlink -f "${1:?usage: run.sh PATH/TO/hadirector}")"
KEEPALIVED=$(command -v keepalived || echo /usr/sbin/keepalived)
SAMPLES=/usr/share/doc/keepalived/samples
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
confs=()
CORPUS="$HERE/../../../../shared/corpus/keepalived-real"
[[ -d $CORPUS ]] || { echo "FAIL: the shared corpus is not at $CORPUS"; exit 1; }
for f in "$SAMPLES"/keepalived.conf.* "$CORPUS"/*.conf; do
  grep -q '^[[:space:]]*virtual_server[[:space:]]' "$f" && confs+=("$f")
done
((${#confs[@]} > 0)) || { echo "FAIL: no sample with virtual servers in $SAMPLES"; exit 1; }
python3 "$HERE/cases.py" prepare "$work/cases" "$HD" "${confs[@]}"
echo "${#confs[@]} config(s) with virtual servers, $(wc -l <"$work/cases/index") case(s)"
set +e
"$HERE/../run-in-vm.sh" --timeout 240 --mem 1024 --smp 2 --file "$HD" --file "$KEEPALIVED" \
  --file "$work/cases:/cases" --file "$HERE/guest.sh:/guest.sh" --env "HD=$HD" \
  -- sh /guest.sh >"$work/out" 2>"$work/err"
rc=$?
set -e
cat "$work/err" >&2
grep -E "^(started|settled|read at)" "$work/out" || true
if ((rc != 0)); then
  echo "FAIL: the VM run exited $rc"; tail -50 "$work/out"; exit 1
fi
python3 "$HERE/cases.py" compare "$work/out" "$work/cases/index" && exit 0
sed -n '/^=== log /,$p' "$work/out" | tail -200
exit 1
