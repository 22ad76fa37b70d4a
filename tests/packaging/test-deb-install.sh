#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install test for the hadirector Debian package, on this machine, as root.
#
#   test-deb-install.sh [PATH.deb]          test that package
#   test-deb-install.sh --build-dir DIR     `cpack -G DEB` in DIR (already built), test the result
#   test-deb-install.sh                     configure + build build-pkg/ (-j${HD_JOBS:-1}), cpack, test
#
# Steps: lintian (if installed) with no error or warning; dpkg -i (+ apt-get -f
# install); files, conffile and "not enabled" checks; hadirector check on the
# installed config and examples; systemd-analyze verify + security exposure
# (at most HD_MAX_EXPOSURE, default 3.0); a short run of the daemon on the
# packaged config; dpkg -r (conffile with a local edit kept); dpkg --purge
# (conffile gone). One PASS/FAIL/SKIP line per check; exit 1 on any FAIL, 77
# when it cannot run here (not root, no dpkg, hadirector already installed) or
# when any check was skipped (no lintian, no man, no systemd-analyze, a control
# socket already there): a partial run is reported as skipped, never as passed.
#
# It never clobbers this machine's hadirector: an installed hadirector package
# makes it refuse, and an existing /etc/hadirector is moved aside and put back.
set -uo pipefail

PKG=hadirector
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MAX_EXPOSURE=${HD_MAX_EXPOSURE:-3.0}
CONF=/etc/hadirector/hadirector.toml
UNIT=/lib/systemd/system/hadirector.service

fails=0
skips=()
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
skip() { echo "SKIP: $*"; skips+=("$*"); }
check() {  # check "description" command...
  local what=$1; shift
  local out
  if out=$("$@" 2>&1); then pass "$what"; else fail "$what"; [[ -n $out ]] && sed 's/^/    /' <<<"$out"; fi
}
pkg_status() { dpkg-query -W -f='${db:Status-Abbrev}' "$PKG" 2>/dev/null | tr -d ' '; }

# --- preconditions ---------------------------------------------------------
if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root (installs a package)"; exit 77; fi
if ! command -v dpkg >/dev/null; then echo "SKIP: not a Debian system (no dpkg)"; exit 77; fi
case $(pkg_status) in
  ""|un|pn) ;;  # not installed, or purged
  *) echo "SKIP: $PKG is installed here ($(pkg_status)); refusing to touch it"; exit 77 ;;
esac

# --- the package -------------------------------------------------------------
deb=""
build_dir=""
case ${1:-} in
  --build-dir) build_dir=${2:?--build-dir needs a directory} ;;
  -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
  "") build_dir=$REPO/build-pkg
      if [[ ! -f $build_dir/build.ninja ]]; then
        cmake -S "$REPO" -B "$build_dir" -G Ninja -DHD_TESTS=OFF -DHD_BENCH=OFF >/dev/null ||
          { echo "FAIL: configure $build_dir"; exit 1; }
      fi
      ninja -C "$build_dir" -j"${HD_JOBS:-1}" >/dev/null || { echo "FAIL: build $build_dir"; exit 1; } ;;
  *) deb=$(realpath "$1") ;;
esac
if [[ -n $build_dir ]]; then
  log=$(mktemp)
  if (cd "$build_dir" && cpack -G DEB) >"$log" 2>&1; then
    deb=$(sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' "$log" | tail -1)
  fi
  [[ -n $deb && -f $deb ]] || { echo "FAIL: cpack -G DEB in $build_dir"; cat "$log"; rm -f "$log"; exit 1; }
  rm -f "$log"
fi
[[ -f $deb ]] || { echo "FAIL: no package at '$deb'"; exit 1; }
echo "package: $deb"

# --- keep this machine's state ---------------------------------------------
backup=""
ran_daemon_pid=""
cleanup() {
  [[ -n $ran_daemon_pid ]] && kill "$ran_daemon_pid" 2>/dev/null
  if [[ $(pkg_status) != "" && $(pkg_status) != "un" && $(pkg_status) != "pn" ]]; then
    dpkg --purge "$PKG" >/dev/null 2>&1 || true
  fi
  if [[ -n $backup ]]; then
    rm -rf /etc/hadirector
    mv "$backup/hadirector" /etc/hadirector && rmdir "$backup" && echo "restored /etc/hadirector"
  fi
}
trap cleanup EXIT
if [[ -e /etc/hadirector ]]; then
  backup=$(mktemp -d /var/tmp/hadirector-test-backup.XXXXXX)
  mv /etc/hadirector "$backup/hadirector"
  echo "moved /etc/hadirector to $backup/hadirector for the test"
fi

run_dir_existed=""
[[ -e /run/hadirector ]] && run_dir_existed=1

# --- lintian ---------------------------------------------------------------
if command -v lintian >/dev/null; then
  # lintian warns about running as root; that line is not about the package.
  check "lintian: no error, no warning" lintian --fail-on error,warning "$deb"
else
  skip "lintian not installed (apt-get install lintian)"
fi

# --- install -----------------------------------------------------------------
if dpkg -i "$deb" >/dev/null 2>&1; then
  pass "dpkg -i"
else
  echo "dpkg -i left dependencies missing; apt-get -f install -y"
  DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq >/dev/null 2>&1
  [[ $(pkg_status) == ii ]] && pass "dpkg -i + apt-get -f install" || fail "install ($(pkg_status))"
fi
if [[ $(pkg_status) != ii ]]; then echo "FAIL: not installed, stopping"; exit 1; fi

for f in /usr/sbin/hadirector /usr/sbin/hadirector-drill /usr/lib/hadirector/run-in-vm.sh \
         "$UNIT" "$CONF" /usr/share/man/man8/hadirector-drill.8.gz \
         /usr/share/man/man8/hadirector.8.gz /usr/share/man/man5/hadirector.toml.5.gz \
         /usr/share/doc/hadirector/copyright /usr/share/doc/hadirector/changelog.gz \
         /usr/share/doc/hadirector/examples/minimal.toml; do
  [[ -e $f ]] && pass "installed $f" || fail "missing $f"
done
check "$CONF is a conffile" bash -c "dpkg-query -W -f='\${Conffiles}\n' $PKG | grep -q '^ $CONF '"
check "service not enabled by the package" \
  bash -c "! ls /etc/systemd/system/*.wants/hadirector.service 2>/dev/null | grep -q ."

# --- configuration -------------------------------------------------------------
check "hadirector check -c $CONF" /usr/sbin/hadirector check -c "$CONF"
check "hadirector drill --help runs the installed hadirector-drill" \
  bash -c '/usr/sbin/hadirector drill --help | grep -q "^usage: hadirector-drill"'
for ex in /usr/share/doc/hadirector/examples/*.toml; do
  check "hadirector check -c $ex" /usr/sbin/hadirector check -c "$ex"
done
if command -v man >/dev/null; then
  check "man pages render without warnings" bash -c '
    for p in /usr/share/man/man8/hadirector.8.gz /usr/share/man/man8/hadirector-drill.8.gz \
             /usr/share/man/man5/hadirector.toml.5.gz; do
      out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$p" 2>&1 >/dev/null)
      [[ -z $out ]] || { echo "$p: $out"; exit 1; }
    done'
else
  skip "man not installed (apt-get install man-db): man pages not rendered"
fi

# --- the unit --------------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
  check "systemd-analyze verify $UNIT" bash -c "
    out=\$(systemd-analyze verify '$UNIT' 2>&1); rc=\$?
    [[ -n \$out ]] && echo \"\$out\"; [[ \$rc -eq 0 && -z \$out ]]"
  # systemd 252 needs --offline=true when PID 1 is not systemd; it works either way.
  exposure=$(systemd-analyze security --offline=true "$UNIT" 2>/dev/null |
             sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if [[ -n $exposure ]]; then
    echo "exposure: $exposure (systemd-analyze security --offline=true)"
    check "exposure $exposure <= $MAX_EXPOSURE" awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }'
  else
    fail "systemd-analyze security gave no exposure figure"
  fi
else
  skip "systemd-analyze not installed: unit not verified"
fi

# --- a short run on the packaged configuration --------------------------------
# It configures nothing, so the daemon only opens /run/hadirector/control.sock.
if [[ -e /run/hadirector/control.sock ]]; then
  skip "daemon run: /run/hadirector/control.sock exists (another daemon?)"
else
  /usr/sbin/hadirector run -c "$CONF" >/dev/null 2>&1 &
  ran_daemon_pid=$!
  ok=""
  for _ in $(seq 50); do
    if /usr/sbin/hadirector status >/dev/null 2>&1; then ok=1; break; fi
    kill -0 "$ran_daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $ok ]] && pass "daemon runs on the packaged config, status answers" ||
    fail "daemon on the packaged config did not answer status"
  kill -TERM "$ran_daemon_pid" 2>/dev/null
  wait "$ran_daemon_pid"; rc=$?
  ran_daemon_pid=""
  [[ $rc -eq 0 ]] && pass "daemon stops cleanly on SIGTERM" || fail "daemon exit status $rc on SIGTERM"
fi

# --- remove: conffile (with a local edit) stays ----------------------------------
echo "# local edit by test-deb-install.sh" >>"$CONF"
check "dpkg -r" dpkg -r "$PKG"
[[ $(pkg_status) == rc ]] && pass "status after -r is rc (config-files)" || fail "status after -r: $(pkg_status)"
grep -q "local edit by test-deb-install.sh" "$CONF" 2>/dev/null &&
  pass "conffile kept, with the local edit, after dpkg -r" || fail "conffile gone or changed after dpkg -r"
for f in /usr/sbin/hadirector "$UNIT" /usr/share/doc/hadirector/examples; do
  [[ ! -e $f ]] && pass "removed $f" || fail "still there after dpkg -r: $f"
done

# --- purge: nothing left ----------------------------------------------------------
check "dpkg --purge" dpkg --purge "$PKG"
case $(pkg_status) in ""|un|pn) pass "not installed after purge" ;; *) fail "status after purge: $(pkg_status)" ;; esac
gone=("$CONF" /etc/hadirector /usr/share/doc/hadirector)
[[ -z $run_dir_existed ]] && gone+=(/run/hadirector)
for f in "${gone[@]}"; do
  [[ ! -e $f ]] && pass "gone after purge: $f" || fail "still there after purge: $f"
done

echo
if ((fails)); then echo "FAIL: $fails check(s) failed"; exit 1; fi
if ((${#skips[@]})); then
  echo "SKIPPED: ${#skips[@]} check(s) did not run (the others passed):"
  printf '  %s\n' "${skips[@]}"
  exit 77
fi
echo "PASS: all checks"
exit 0
