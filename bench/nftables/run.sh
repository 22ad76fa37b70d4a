#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The nftables data plane's benchmarks (#18) in the test VM (Debian's kernel, qemu TCG), beside
# IPVS on the same kernel: programming (nft_bench, and ipvs_bench when given) and NAT
# forwarding throughput (wrk; apt install wrk).
#   bench/nftables/run.sh BUILD [--reps N]   (--reps 0: the forwarding part only)
# BUILD: the build directory (sbin/hadirector, sbin/hadirector-drill, bench/*/..._bench).
# For the programming numbers on this machine's own kernel: BUILD/bench/nftables/nft_bench.
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
B="$(readlink -f "${1:?usage: run.sh BUILD [--reps N]}")"
REPS=3
[[ ${2:-} == --reps ]] && REPS=$3
WRK=$(command -v wrk) || { echo "run.sh: wrk not installed (apt install wrk)"; exit 2; }
NFT=$(command -v nft)
exec "$HERE/../../tests/vm/run-in-vm.sh" --timeout 600 --mem 2048 --smp 2 \
  --module nf_tables --module nft_chain_nat --module nft_nat --module nft_numgen --module nft_hash \
  --file "$B/sbin/hadirector" --file "$B/sbin/hadirector-drill" --file "$B/bench/nftables/nft_bench" \
  --file "$B/bench/ipvs/ipvs_bench" --file "$WRK" --file "$NFT" --file "$HERE/guest.sh:/guest.sh" \
  --env "HD=$B/sbin/hadirector" --env "HDD=$B/sbin/hadirector-drill" \
  --env "NFT_BENCH=$B/bench/nftables/nft_bench" --env "IPVS_BENCH=$B/bench/ipvs/ipvs_bench" \
  --env "REPS=$REPS" -- bash /guest.sh
