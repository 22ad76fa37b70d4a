#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The main job, for a newcomer on a fresh Debian machine (as root): install,
# build, and run the failover drill on its built-in lab: two directors running
# hadirector, three real servers, a client sending HTTP traffic through the VIP,
# and seven failure scenarios, in NAT mode. On a kernel without IPVS (like the
# development machines) the lab runs inside a qemu VM with Debian's kernel.
# Extra arguments go to `hadirector drill` (e.g. --mode dr, --json, --scenario partition).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$(nproc)" hadirector
for f in etc/hadirector.toml etc/examples/*.toml; do build/sbin/hadirector check -c "$f"; done
exec build/sbin/hadirector drill "$@"
