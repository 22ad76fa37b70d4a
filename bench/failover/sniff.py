# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs inside a namespace: prints one line per VRRP advert and gratuitous ARP
seen on an interface, with the kernel's receive timestamp (wall clock)."""
import socket
import struct
import sys

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35


def main():
    ifname = sys.argv[1]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    out = sys.stdout
    while True:
        data, anc, _, addr = s.recvmsg(2048, 256)
        t = None
        for level, typ, val in anc:
            if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", val[:16])
                t = sec + nsec / 1e9
        if t is None or len(data) < 14:
            continue
        eth = struct.unpack("!H", data[12:14])[0]
        src_mac = data[6:12].hex(":")
        if eth == 0x0800 and len(data) >= 34 and data[23] == 112:
            ihl = (data[14] & 0x0F) * 4
            src = socket.inet_ntoa(data[26:30])
            v = data[14 + ihl:]
            if len(v) >= 4:
                out.write("ADV %.6f %s %d %d\n" % (t, src, v[1], v[2]))
        elif eth == 0x0806 and len(data) >= 42:
            op = struct.unpack("!H", data[20:22])[0]
            sip = socket.inet_ntoa(data[28:32])
            tip = socket.inet_ntoa(data[38:42])
            if sip == tip:
                out.write("GARP %.6f %s %s %d\n" % (t, sip, src_mac, op))
        out.flush()


if __name__ == "__main__":
    main()
