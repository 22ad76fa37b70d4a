// SPDX-License-Identifier: GPL-2.0-or-later
// Counting a real server's connections from conntrack entries, as IPVS counts them.
#include "nftables/conntrack.h"

#include <gtest/gtest.h>

namespace hd::nft {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

ConnEntry entry(ipvs::Protocol p, const char* vip, uint16_t vport, const char* rs, uint16_t rport,
                bool established) {
  ConnEntry e;
  e.protocol = p;
  e.service = ip(vip);
  e.service_port = vport;
  e.server = ip(rs);
  e.server_port = rport;
  e.established = established;
  return e;
}

TEST(NftConntrack, EachServerCountsItsOwnServiceConnectionsAsIpvsDoes) {
  using ipvs::Protocol;
  ConnTally t;
  tally(t, entry(Protocol::tcp, "10.9.0.100", 80, "10.10.0.11", 80, true));
  tally(t, entry(Protocol::tcp, "10.9.0.100", 80, "10.10.0.11", 80, true));
  tally(t, entry(Protocol::tcp, "10.9.0.100", 80, "10.10.0.11", 80, false));  // TIME_WAIT, SYN_RECV...
  tally(t, entry(Protocol::tcp, "10.9.0.100", 81, "10.10.0.11", 80, true));   // another service
  tally(t, entry(Protocol::udp, "10.9.0.100", 80, "10.10.0.11", 80, true));   // UDP: inactive
  tally(t, entry(Protocol::tcp, "10.9.0.100", 80, "10.9.0.100", 80, true));   // not translated
  tally(t, entry(Protocol::tcp, "fd00::100", 80, "fd00:10::11", 8080, true));
  ipvs::Service s;
  s.key = ipvs::ServiceKey::inet(Protocol::tcp, ip("10.9.0.100"), 80);
  EXPECT_EQ(count_of(t, s, {ip("10.10.0.11"), 80}), (ConnCount{2, 1}));
  EXPECT_EQ(count_of(t, s, {ip("10.10.0.11"), 0}), (ConnCount{2, 1})) << "port 0: the service's";
  EXPECT_EQ(count_of(t, s, {ip("10.10.0.12"), 80}), (ConnCount{0, 0}));
  EXPECT_EQ(count_of(t, s, {ip("10.9.0.100"), 80}), (ConnCount{0, 0}));
  s.key = ipvs::ServiceKey::inet(Protocol::udp, ip("10.9.0.100"), 80);
  EXPECT_EQ(count_of(t, s, {ip("10.10.0.11"), 80}), (ConnCount{0, 1}));
  s.key = ipvs::ServiceKey::inet(Protocol::tcp, ip("fd00::100"), 80);
  EXPECT_EQ(count_of(t, s, {ip("fd00:10::11"), 8080}), (ConnCount{1, 0}));
}

}  // namespace
}  // namespace hd::nft
