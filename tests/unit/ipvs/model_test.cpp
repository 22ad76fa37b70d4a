// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/model.h"

#include <gtest/gtest.h>

#include <unordered_set>

#include "test_util.h"

namespace hd::ipvs {
namespace {

using testing::dest;
using testing::ip;
using testing::tcp;

TEST(ServiceKey, StrLikeIpvsadm) {
  EXPECT_EQ(tcp("10.0.0.1", 80).str(), "TCP 10.0.0.1:80");
  EXPECT_EQ(ServiceKey::inet(Protocol::udp, ip("2001:db8::1"), 53).str(), "UDP [2001:db8::1]:53");
  EXPECT_EQ(ServiceKey::inet(Protocol::sctp, ip("10.0.0.1"), 9).str(), "SCTP 10.0.0.1:9");
  EXPECT_EQ(ServiceKey::fwmark(7, Family::v4).str(), "FWM 7");
  EXPECT_EQ(ServiceKey::fwmark(7, Family::v6).str(), "FWM 7 IPv6");
}

TEST(ServiceKey, FwmarkFamiliesAreDistinctAndCanonical) {
  auto v4 = ServiceKey::fwmark(7, Family::v4);
  auto v6 = ServiceKey::fwmark(7, Family::v6);
  EXPECT_NE(v4, v6);
  EXPECT_EQ(v4, ServiceKey::fwmark(7, Family::v4));
  EXPECT_TRUE(v4.is_fwmark());
  EXPECT_EQ(v6.af(), AF_INET6);
  EXPECT_EQ(v4.port(), 0);
  EXPECT_TRUE(v4.address().is_unspecified());
  EXPECT_LT(tcp("10.0.0.9", 80), v4);  // address services sort first
}

TEST(ServiceKey, Hashable) {
  std::unordered_set<ServiceKey> keys{tcp("10.0.0.1", 80), tcp("10.0.0.1", 81),
                                      ServiceKey::fwmark(1, Family::v4), tcp("10.0.0.1", 80)};
  EXPECT_EQ(keys.size(), 3u);
  std::unordered_set<DestKey> dests{DestKey{ip("10.0.0.2"), 80}, DestKey{ip("10.0.0.2"), 80}};
  EXPECT_EQ(dests.size(), 1u);
}

TEST(Destination, TunnelComparedOnlyForTunnels) {
  Destination a = dest("10.0.0.2", 80), b = a;
  b.tunnel.type = TunType::gue;  // meaningless for nat
  EXPECT_EQ(a, b);
  a.method = b.method = Method::tun;
  EXPECT_NE(a, b);
  b.tunnel = a.tunnel;
  b.weight = 2;
  EXPECT_NE(a, b);
}

TEST(Destination, Str) {
  Destination d = dest("10.0.0.4", 80, 3, Method::tun);
  d.tunnel = Tunnel{TunType::gue, 6080, kTunCsum};
  d.u_threshold = 100;
  EXPECT_EQ(d.str(), "10.0.0.4:80 tun/gue:6080+csum w3 u100");
  EXPECT_EQ(dest("2001:db8::2", 443, 0, Method::dr).str(), "[2001:db8::2]:443 dr w0");
}

TEST(Service, EqualityIgnoresDestinationOrderAndDefaultNetmask) {
  Service a =
      testing::service(tcp("10.0.0.1", 80), "wrr", {dest("10.0.0.2", 80), dest("10.0.0.3", 80)});
  Service b =
      testing::service(tcp("10.0.0.1", 80), "wrr", {dest("10.0.0.3", 80), dest("10.0.0.2", 80)});
  EXPECT_EQ(a, b);
  b.netmask = 32;  // the same as unset for IPv4
  EXPECT_EQ(a, b);
  b.netmask = 24;
  EXPECT_NE(a, b);
  EXPECT_FALSE(a.same_settings(b));
}

TEST(Flags, SchedulerFlagNames) {
  EXPECT_EQ(parse_sched_flag("sh-port"), kShPort);
  EXPECT_EQ(parse_sched_flag("mh-fallback"), kMhFallback);
  EXPECT_EQ(parse_sched_flag("nope"), std::nullopt);
  EXPECT_EQ(sched_flags_str(kShFallback | kShPort, "sh"), "sh-fallback,sh-port");
  EXPECT_EQ(sched_flags_str(kMhPort, "mh"), "mh-port");
  EXPECT_EQ(sched_flags_str(kPersistent, "sh"), "");
  EXPECT_EQ(kPersistent, 1u);
  EXPECT_EQ(kShFallback, 8u);
  EXPECT_EQ(kShPort, 16u);
}

TEST(Names, SchedulersMethodsTunnels) {
  EXPECT_EQ(kSchedulers.size(), 13u);
  for (auto s :
       {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"})
    EXPECT_TRUE(is_known_scheduler(s)) << s;
  EXPECT_FALSE(is_known_scheduler("random"));
  for (Method m : {Method::nat, Method::dr, Method::tun, Method::local})
    EXPECT_EQ(parse_method(to_string(m)), m);
  for (TunType t : {TunType::ipip, TunType::gue, TunType::gre})
    EXPECT_EQ(parse_tun_type(to_string(t)), t);
  EXPECT_EQ(parse_protocol("sctp"), Protocol::sctp);
  EXPECT_EQ(static_cast<int>(Method::dr), IP_VS_CONN_F_DROUTE);
}

// The tunnel rules live here; the config loader reports them at the key they name.
TEST(Tunnel, GueNeedsItsPortAndOnlyGueTakesAPortOrRemoteChecksum) {
  Tunnel t;
  EXPECT_FALSE(validate_tunnel(t));  // ipip
  t.type = TunType::gue;
  ASSERT_TRUE(validate_tunnel(t));
  EXPECT_EQ(validate_tunnel(t)->field, TunnelProblem::Field::type);
  t.port = 6080;
  t.flags = kTunRemCsum;
  EXPECT_FALSE(validate_tunnel(t));
  t.type = TunType::gre;
  ASSERT_TRUE(validate_tunnel(t));
  EXPECT_EQ(validate_tunnel(t)->field, TunnelProblem::Field::port);
  t.port = 0;
  ASSERT_TRUE(validate_tunnel(t));
  EXPECT_EQ(validate_tunnel(t)->field, TunnelProblem::Field::checksum);
  t.flags = kTunCsum;
  EXPECT_FALSE(validate_tunnel(t));
}

}  // namespace
}  // namespace hd::ipvs
