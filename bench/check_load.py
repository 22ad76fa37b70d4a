# SPDX-License-Identifier: GPL-2.0-or-later
"""The health-check load the VRRP benchmarks put in hadirector's config (jitter, pressure)."""


def check_load_toml(checks, probe="syn"):
    """`checks` tcp checks a second, 1,000 per virtual server, to closed loopback ports
    (refused at once: an RST to each SYN); the daemon needs dataplane = "none"."""
    lines, per_vs = [], 1000
    for v in range((checks + per_vs - 1) // per_vs):
        lines.append('[[virtual_server]]\naddress = "127.1.%d.1"\nport = 80\n' % v)
        for i in range(min(per_vs, checks - v * per_vs)):
            lines.append('  [[virtual_server.real_server]]\n  address = "127.2.%d.%d"\n  port = %d\n'
                         '  check = { type = "tcp", probe = "%s", interval = "1s", timeout = "500ms" }\n'
                         % (v, i % 250 + 1, 10000 + i // 250, probe))
    return "\n".join(lines)

