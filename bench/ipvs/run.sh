#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs bench/ipvs/ipvs_bench inside the test VM (Debian's kernel, qemu TCG):
#   bench/ipvs/run.sh BUILD/bench/ipvs/ipvs_bench [--reps N] [--services N] [--reals N]
# Numbers are TCG numbers: compare the columns with each other, not with a host.
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
bin="$(readlink -f "${1:?usage: run.sh PATH/TO/ipvs_bench [args]}")"
shift
exec "$HERE/../../tests/vm/run-in-vm.sh" --timeout 600 --mem 1024 --file "$bin" -- "$bin" "$@"
