# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs inside a namespace: prints "ADD <time> <address>" for every IPv4
address the kernel adds (rtnetlink RTM_NEWADDR), stamped on receipt."""
import socket
import struct
import sys
import time

RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWADDR = 20
IFA_LOCAL = 2


def main():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, RTMGRP_IPV4_IFADDR))
    while True:
        data = s.recv(65536)
        t = time.time()
        off = 0
        while off + 16 <= len(data):
            length, typ = struct.unpack_from("=IH", data, off)
            if length < 16:
                break
            if typ == RTM_NEWADDR:
                a = off + 16 + 8  # nlmsghdr + ifaddrmsg
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype == IFA_LOCAL and alen >= 8:
                        print("ADD %.6f %s" % (t, socket.inet_ntoa(data[a + 4:a + 8])), flush=True)
                    a += (alen + 3) & ~3
            off += (length + 3) & ~3


if __name__ == "__main__":
    main()
