#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a large hadirector config: VS virtual servers x RS real servers, TCP checks.

  gen.py VS RS OUT.toml [--socket PATH] [--dataplane none|ipvs] [--interval 5s]
         [--change N]   (real server N's weight differs: for reload-one-change runs)

Virtual servers are 10.A.B.C:80, real servers 127.X.Y.Z:80 (loopback, nothing listens:
the half-open probes get a RST, so every real server goes down once and stays down).
"""
import argparse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vs", type=int)
    ap.add_argument("rs", type=int)
    ap.add_argument("out")
    ap.add_argument("--socket", default="/run/hadirector-scale.sock")
    ap.add_argument("--dataplane", default="none")
    ap.add_argument("--interval", default="5s")
    ap.add_argument("--timeout", default="2s")
    ap.add_argument("--change", type=int, default=-1)
    ap.add_argument("--log-level", default="error")
    a = ap.parse_args()
    out = [
        "[global]",
        f'control_socket = "{a.socket}"',
        f'dataplane = "{a.dataplane}"',
        f'log_level = "{a.log_level}"',
        "",
    ]
    n = 0
    for v in range(a.vs):
        out += [
            "[[virtual_server]]",
            f'address = "10.{v >> 16 & 255}.{v >> 8 & 255}.{v & 255}"',
            "port = 80",
            'scheduler = "wrr"',
            "",
        ]
        for _ in range(a.rs):
            n += 1
            weight = 2 if n == a.change else 1
            out += [
                "  [[virtual_server.real_server]]",
                f'  address = "127.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"',
                "  port = 80",
                f"  weight = {weight}",
                f'  check = {{ type = "tcp", interval = "{a.interval}", timeout = "{a.timeout}" }}',
                "",
            ]
    with open(a.out, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
