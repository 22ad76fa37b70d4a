#include "realserver/role.h"

#include <gtest/gtest.h>

namespace hd::realserver {
namespace {

TEST(RealServerRole, WantedSysctlsForDr) {
  RoleConfig c;
  c.vips.push_back({*IpAddress::parse("192.0.2.10"), false});
  auto w = wanted_sysctls(c, {"eth0"});
  EXPECT_EQ(w.at("net/ipv4/conf/all/arp_ignore"), "1");
  EXPECT_EQ(w.at("net/ipv4/conf/all/arp_announce"), "2");
  EXPECT_EQ(w.at("net/ipv4/conf/lo/arp_ignore"), "1");
  EXPECT_EQ(w.at("net/ipv4/conf/eth0/arp_announce"), "2");
  EXPECT_EQ(w.count("net/ipv4/conf/all/rp_filter"), 0u);
}

TEST(RealServerRole, TunModeRelaxesRpFilterOnAllAndTunl0) {
  RoleConfig c;
  c.vips.push_back({*IpAddress::parse("192.0.2.10"), true});
  auto w = wanted_sysctls(c, {"eth0"});
  EXPECT_EQ(w.at("net/ipv4/conf/all/rp_filter"), "0");
  EXPECT_EQ(w.at("net/ipv4/conf/tunl0/rp_filter"), "0");
}

TEST(RealServerRole, Ipv6OnlyNeedsNoArpSysctls) {
  RoleConfig c;
  c.vips.push_back({*IpAddress::parse("2001:db8::10"), false});
  EXPECT_TRUE(wanted_sysctls(c, {"eth0"}).empty());
}

TEST(RealServerRole, StateFileRoundTrip) {
  SavedState s;
  s.sysctls["net/ipv4/conf/all/arp_ignore"] = "0";
  s.sysctls["net/ipv4/conf/eth0/arp_announce"] = "1";
  s.addresses.push_back("lo lo:0 192.0.2.10/32");
  auto back = parse_state(format_state(s));
  EXPECT_EQ(back.sysctls, s.sysctls);
  EXPECT_EQ(back.addresses, s.addresses);
  EXPECT_TRUE(parse_state("# only a comment\n\ngarbage line\n").sysctls.empty());
}

TEST(RealServerRole, DefaultRouteInterface) {
  std::string route =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth1\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
      "eth0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
  EXPECT_EQ(default_route_interface(route), "eth0");
  EXPECT_EQ(default_route_interface("Iface\tDestination\n"), std::nullopt);
}

}  // namespace
}  // namespace hd::realserver
