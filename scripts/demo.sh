#!/usr/bin/env bash
# The main job, for a newcomer on a fresh Debian machine (as root): install,
# build, validate the shipped config, and run the daemon briefly: start,
# status, a rejected reload, an applied reload, orderly stop.
# (When the failover drill lands, this runs `hadirector drill`.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$(nproc)" hadirector
HD=build/daemon/hadirector

echo "== hadirector check on the shipped examples"
for f in etc/hadirector.toml etc/examples/*.toml; do "$HD" check -c "$f"; done

echo "== a short run of the daemon"
work=$(mktemp -d)
pid=
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cat >"$work/hd.toml" <<TOML
[global]
router_id = "demo"
control_socket = "$work/control.sock"
TOML
"$HD" run -c "$work/hd.toml" &
pid=$!
for _ in $(seq 50); do [[ -S "$work/control.sock" ]] && break; sleep 0.1; done
"$HD" status --socket "$work/control.sock"
echo "-- reload with a broken file (rejected, old config kept):"
echo 'log_level = "loud"' >>"$work/hd.toml"
kill -HUP "$pid"; sleep 0.3
"$HD" status --socket "$work/control.sock"
echo "-- reload with a valid change:"
sed -i 's/^log_level = "loud"/log_level = "debug"/; s/router_id = "demo"/router_id = "demo-2"/' "$work/hd.toml"
kill -HUP "$pid"; sleep 0.3
"$HD" status --json --socket "$work/control.sock"
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
echo "== daemon stopped, exit status $rc"
