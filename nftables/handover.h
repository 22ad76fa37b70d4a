// SPDX-License-Identifier: GPL-2.0-or-later
// Handover forwarding: while a VRRP Master that handed over (or was preempted) lingers,
// the new Master sends it the packets of TCP connections its own IPVS does not know:
// handshakes that started on the old Master (the kernel's connection sync carries no
// half-open connection) and connections whose sync message is still on its way. Without
// it, a planned switchover of an LVS-NAT pair loses the handshakes that cross it (the
// client's ACK reaches the new Master, which answers RST; or the real server's SYN-ACK
// reaches it through the moved gateway and leaves un-translated).
//
// The packets are caught after IPVS had its chance (priority 300, IPVS hooks at 98-100):
// at input, TCP to a virtual service that is not a connection's first SYN (IPVS took
// every packet it knows and every SYN it schedules); at forward, TCP from a NAT real
// server's service port that IPVS did not translate. Each is duplicated to the old Master
// (nft `dup to ADDRESS device IFACE`, which keeps the packet as it is) and dropped here.
// Tables `ip hadirector_handover` and `ip6 hadirector_handover`, owned by the LVS side.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/address.h"

namespace hd::nft {

// What the forwarding catches: the TCP virtual services and the NAT real servers. (fwmark
// services are not: no VIP ties them to a VRRP instance.)
struct HandoverServices {
  struct Endpoint {
    IpAddress address;
    uint16_t port = 0;
    bool operator==(const Endpoint&) const = default;
  };
  std::vector<Endpoint> services;      // TCP virtual services (address, port)
  std::vector<Endpoint> nat_reals;     // real servers of NAT services (address, port)
  bool operator==(const HandoverServices&) const = default;
};

// A live Master to forward to: reached through `interface` (the VRRP instance's). `input`:
// also what arrives for the virtual services (a Master that took over, or a Backup that
// holds no VIP: there it is inert until the VIPs come); without it only what comes from
// the real servers (a Backup still holding a handover's VIPs: it must not send the
// clients' strays back to the new Master, which sends its own to it).
struct HandoverPeer {
  std::string instance;
  std::string interface;
  IpAddress address;
  bool input = true;
  bool operator==(const HandoverPeer&) const = default;
};

// What each VRRP instance forwards: the virtual services on the VIPs of its sync group
// (itself when in none) and their NAT real servers. Per instance, so that directors that
// are Master of different instances (active/active) never send each other what the other
// does not own.
using HandoverServicesByInstance = std::map<std::string, HandoverServices>;

// One nft transaction that leaves both tables holding exactly the rules for `peers` (none:
// both tables gone); a peer whose instance has no services gets no rule. Pure; unit-tested
// against nft's syntax in tests/unit/nftables.
std::string render_handover(const std::vector<HandoverPeer>& peers,
                            const HandoverServicesByInstance& s);

// Runs an nft script through libnftables; "" on success, else nft's error text (or that
// the kernel has no nf_tables netlink: libnftables would exit the process).
std::string run_nft_script(const std::string& script);

}  // namespace hd::nft
