// SPDX-License-Identifier: GPL-2.0-or-later
// The nftables data plane's connection counts: nftables keeps no per-server connection table
// as IPVS does, but conntrack holds every connection our DNAT made, with the virtual service it
// was addressed to (its original destination) and the real server it went to (its reply's
// source). Counted per (service, real server) as IPVS counts: active = TCP established,
// inactive = every other TCP state and all UDP. What drains wait on and metrics show.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ipvs/model.h"

namespace hd::nft {

// One conntrack entry, as much of it as the count needs.
struct ConnEntry {
  ipvs::Protocol protocol = ipvs::Protocol::tcp;
  IpAddress service;  // original direction's destination: the VIP
  uint16_t service_port = 0;
  IpAddress server;  // reply direction's source: the real server
  uint16_t server_port = 0;
  bool established = false;  // TCP ESTABLISHED
};

struct ConnCount {
  uint32_t active = 0, inactive = 0;
  bool operator==(const ConnCount&) const = default;
};
// (service, real server as IPVS keys it: port 0 is the service's) -> its connections.
using ConnTally = std::map<std::pair<ipvs::ServiceKey, ipvs::DestKey>, ConnCount>;

// Adds `e` to the tally (pure): entries that were not translated (the reply comes from the
// address the client asked for) are no service's.
void tally(ConnTally& t, const ConnEntry& e);
// The count for a real server of `s` (its port 0 read as the service's).
ConnCount count_of(const ConnTally& t, const ipvs::Service& s, const ipvs::DestKey& d);

// Dumps the kernel's conntrack table (ctnetlink, through libnl-nf) and tallies it: blocking,
// so the daemon calls it off the main loop (the backend's lister thread). The error text
// when the table cannot be read.
std::optional<ConnTally> count_connections(std::string* error = nullptr);

}  // namespace hd::nft
