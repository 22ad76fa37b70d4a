#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# systemd-analyze verify + security on packaging/systemd/hadirector.service,
# without installing anything (no root): a temporary copy of the unit points
# at the built binary instead of /usr/sbin/hadirector, and man: links are not
# resolved (--man=no; the installed-package test checks them).
#
#   test-unit-verify.sh BUILT_BINARY      e.g. build/sbin/hadirector
#
# Exit 0 PASS, 1 FAIL, 77 no systemd-analyze. HD_MAX_EXPOSURE (default 3.0).
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$(realpath "${1:?usage: test-unit-verify.sh BUILT_BINARY}")
max=${HD_MAX_EXPOSURE:-3.0}
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
[[ -x $bin ]] || { echo "FAIL: $bin is not executable"; exit 1; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/sbin/hadirector#$bin#g" "$REPO/packaging/systemd/hadirector.service" >"$tmp/hadirector.service"
fails=0
if out=$(systemd-analyze verify --man=no "$tmp/hadirector.service" 2>&1) && [[ -z $out ]]; then
  echo "PASS: systemd-analyze verify"
else
  echo "FAIL: systemd-analyze verify"; sed 's/^/    /' <<<"$out"; fails=1
fi
# systemd 252 needs --offline=true when PID 1 is not systemd.
exposure=$(systemd-analyze security --offline=true "$tmp/hadirector.service" 2>/dev/null |
           sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [[ -z $exposure ]]; then
  echo "FAIL: no exposure figure from systemd-analyze security"; fails=1
elif awk -v e="$exposure" -v m="$max" 'BEGIN { exit !(e <= m) }'; then
  echo "PASS: exposure $exposure <= $max"
else
  echo "FAIL: exposure $exposure > $max"; fails=1
fi
exit $fails
