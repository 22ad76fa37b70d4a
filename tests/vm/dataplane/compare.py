#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Judges lab.sh's output under IPVS against nftables's (run.sh). Per phase (up, rs2-down,
rs2-back) and service: no request failed on either; the same real servers took new
connections (rs2 none while it fails); rr and wrr gave the same counts, within one
connection, and the weights' shares; sh with sh-port and mh (Maglev) with mh-port spread over
the servers that are up, each share within 0.15 of IPVS's (both hash, with different
functions: the shares are alike, the client-to-server mapping is not); plain sh sent one
client to one server."""
import sys

SERVICES = {"80": ("rr", [1, 1, 1]), "81": ("wrr", [1, 2, 3]), "82": ("sh-port", [1, 1, 1]),
            "83": ("sh", [1, 1, 1]), "84": ("mh-port", [1, 1, 1])}
PHASES = ["up", "rs2-down", "rs2-back"]


def read(path):
    res, src = {}, {}
    for line in open(path):
        f = line.split()
        if len(f) == 7 and f[0] == "RESULT":
            res[(f[1], f[2])] = ([int(x) for x in f[3:6]], int(f[6]))
        elif len(f) == 4 and f[0] == "SOURCES":
            src[(f[1], f[2])] = int(f[3])
    return res, src


def main():
    k_res, k_src = read(sys.argv[1])
    n_res, n_src = read(sys.argv[2])
    problems = []
    print("%-9s %-8s %-18s %-18s" % ("phase", "service", "IPVS rs1/rs2/rs3", "nftables"))
    for phase in PHASES:
        up = [True, phase != "rs2-down", True]
        for port, (kind, weights) in SERVICES.items():
            key = (phase, port)
            if key not in k_res or key not in n_res:
                problems.append("%s %s: no result (IPVS %s, nftables %s)" %
                                (phase, kind, key in k_res, key in n_res))
                continue
            (k, kf), (n, nf) = k_res[key], n_res[key]
            print("%-9s %-8s %-18s %-18s" % (phase, kind, "/".join(map(str, k)),
                                             "/".join(map(str, n))))
            where = "%s %s:" % (phase, kind)
            # nftables (what this test is about) must fail nothing. IPVS is the reference, in a
            # TCG guest that CI loads with background builds: a few of its requests may time
            # out there (seen once: 6 of 120); they are shown, and over 10 % fail the test.
            if nf or kf * 10 > sum(k) + kf:
                problems.append("%s failed requests: IPVS %d, nftables %d" % (where, kf, nf))
            elif kf:
                print("note: %s IPVS (the reference) had %d failed request(s)" % (where, kf))
            for name, counts in (("IPVS", k), ("nftables", n)):
                for i in range(3):
                    if not up[i] and counts[i]:
                        problems.append("%s %s sent %d to rs%d, which is down" %
                                        (where, name, counts[i], i + 1))
            total_k, total_n = sum(k), sum(n)
            if not total_k or not total_n:
                problems.append("%s no connection counted" % where)
                continue
            if kind in ("rr", "wrr"):
                live = sum(w for w, u in zip(weights, up) if u)
                for i in range(3):
                    want = total_n * weights[i] / live if up[i] else 0
                    if abs(k[i] - n[i]) > 1 or abs(n[i] - want) > 1:
                        problems.append("%s rs%d: IPVS %d, nftables %d, weights say %.0f" %
                                        (where, i + 1, k[i], n[i], want))
            elif kind in ("sh-port", "mh-port"):
                for i in range(3):
                    ks, ns = k[i] / total_k, n[i] / total_n
                    if abs(ks - ns) > 0.15:
                        problems.append("%s rs%d share IPVS %.2f, nftables %.2f" %
                                        (where, i + 1, ks, ns))
                    if up[i] and (ks < 0.15 or ns < 0.15):
                        problems.append("%s rs%d is up but took %.2f (IPVS) / %.2f (nftables)" %
                                        (where, i + 1, ks, ns))
            else:  # plain sh: one client address, one server
                if k_src.get(key) != 1 or n_src.get(key) != 1:
                    problems.append("%s one client reached %s (IPVS) and %s (nftables) servers" %
                                    (where, k_src.get(key), n_src.get(key)))
    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    print("ok: IPVS and nftables alike in %d phases x %d services" % (len(PHASES), len(SERVICES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
