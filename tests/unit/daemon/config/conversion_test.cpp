// SPDX-License-Identifier: GPL-2.0-or-later
// The config model -> the libraries' own types: one conversion each (checks, VRRP instances,
// IPVS services), and a default config value converts to the library's default.
#include <gtest/gtest.h>

#include "daemon/realserver_subsystem.h"
#include "daemon/config/check_spec.h"
#include "daemon/config/loader.h"
#include "daemon/lvs_subsystem.h"
#include "daemon/vrrp_subsystem.h"
#include "vrrp/rules.h"

namespace hd::config {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

TEST(CheckConversion, DefaultCheckIsTheDefaultSpec) {
  const checkers::Spec want;
  checkers::Spec s = to_check_spec(Check{}, want.address, want.port);
  EXPECT_EQ(s, want);  // every field that corresponds, half_open included
  EXPECT_FALSE(Check{}.half_open);
  EXPECT_EQ(Check{}.half_open, checkers::Spec{}.half_open);
}

TEST(CheckConversion, CopiesTheTypedValues) {
  Check c;
  c.type = CheckType::https;
  c.method = HttpMethod::head;
  c.expect_status = {{204, 204}, {300, 399}};
  c.connect_address = ip("192.0.2.9");
  c.connect_port = 8443;
  c.half_open = true;  // not a tcp check: no half-open probe
  auto s = to_check_spec(c, ip("192.0.2.1"), 443);
  EXPECT_EQ(s.type, checkers::CheckType::https);
  EXPECT_EQ(s.method, checkers::HttpMethod::head);
  EXPECT_EQ(s.expect_status, c.expect_status);
  EXPECT_EQ(s.address, ip("192.0.2.9"));
  EXPECT_EQ(s.port, 8443);
  EXPECT_FALSE(s.half_open);
}

TEST(CheckConversion, LoadedTcpCheckIsHalfOpen) {
  auto r = load_string(R"([[virtual_server]]
address = "192.0.2.1"
port = 80
[[virtual_server.real_server]]
address = "192.0.2.11"
check = { type = "tcp" }
)",
                       "t");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  auto& rs = r.config->virtual_servers[0].real_servers[0];
  auto s = to_check_spec(*rs.check, rs.address, rs.port);
  EXPECT_TRUE(s.half_open);
  EXPECT_EQ(s.port, 80);
}

TEST(VrrpConversion, DefaultInstanceIsTheEngineDefault) {
  VrrpInstance vi;
  vi.vips.push_back({*IpPrefix::parse("192.0.2.100/24"), "eth0:1"});
  auto c = to_engine_config(vi);
  const vrrp::InstanceConfig d;
  vrrp::Params want = d.params;
  want.vrid = 0;  // the model's 0: a required key, always set by the loader
  EXPECT_EQ(c.params, want);
  EXPECT_EQ(c.garp_count, d.garp_count);
  EXPECT_EQ(c.garp_spacing, d.garp_spacing);
  EXPECT_EQ(c.garp_refresh, d.garp_refresh);
  EXPECT_EQ(c.garp_second_burst, d.garp_second_burst);
  ASSERT_EQ(c.vips.size(), 1u);
  EXPECT_EQ(c.vips[0], (vrrp::VipSpec{ip("192.0.2.100"), 24, "eth0:1", 0}));
}

TEST(VrrpConversion, CopiesEveryField) {
  VrrpInstance vi;
  vi.name = "VI_1";
  vi.interface = "eth0";
  vi.vrid = 51;
  vi.priority = 150;
  vi.version = 2;
  vi.advert_interval = 3s;
  vi.preempt = false;
  vi.preempt_delay = 5s;
  vi.handover_linger = 1500ms;
  vi.unicast_source = ip("192.0.2.2");
  vi.unicast_peers = {ip("192.0.2.3")};
  vi.peers = {ip("192.0.2.4")};  // (the loader refuses both together; the copy does not care)
  vi.adopt_interval_ratio = 3;
  vi.vips = {{*IpPrefix::parse("192.0.2.10/24"), "eth0:1"}};
  vi.excluded_vips = {{*IpPrefix::parse("2001:db8::10/64"), ""}};
  vi.auth_pass = "secret";
  vi.garp = {3, 50ms, 60s, 0s};
  vi.track_interfaces = {"eth1"};
  auto c = to_engine_config(vi);
  EXPECT_EQ(c.name, "VI_1");
  EXPECT_EQ(c.interface, "eth0");
  EXPECT_EQ(c.params.version, vrrp::Version::v2);
  EXPECT_EQ(c.params.vrid, 51);
  EXPECT_EQ(c.params.priority, 150);
  EXPECT_EQ(c.params.advert_interval, 3s);
  EXPECT_FALSE(c.params.preempt);
  EXPECT_EQ(c.params.preempt_delay, 5s);
  EXPECT_EQ(c.params.linger, 1500ms);
  EXPECT_EQ(c.unicast_source, ip("192.0.2.2"));
  EXPECT_EQ(c.unicast_peers, vi.unicast_peers);
  EXPECT_EQ(c.peers, vi.peers);
  EXPECT_EQ(c.params.adopt_interval_ratio, 3);
  ASSERT_EQ(c.vips.size(), 1u);
  EXPECT_EQ(c.vips[0].label, "eth0:1");
  ASSERT_EQ(c.excluded_vips.size(), 1u);
  EXPECT_EQ(c.excluded_vips[0].address, ip("2001:db8::10"));
  EXPECT_EQ(c.excluded_vips[0].prefix_len, 64);
  EXPECT_EQ(c.auth_pass, "secret");
  EXPECT_EQ(c.garp_count, 3);
  EXPECT_EQ(c.garp_spacing, 50ms);
  EXPECT_EQ(c.garp_refresh, 60s);
  EXPECT_EQ(c.garp_second_burst, 0s);
  EXPECT_EQ(c.track_interfaces, vi.track_interfaces);
}

// A sync group's members; the one whose VIPs carry no virtual service (the real servers'
// gateway) is announced first.
TEST(VrrpInstanceConversion, SyncGroupMembersAndTheGatewayAnnouncedFirst) {
  Config cfg;
  auto member = [](const char* name, const char* vip) {
    VrrpInstance vi;
    vi.name = name;
    vi.vips = {{*IpPrefix::parse(vip), ""}};
    return vi;
  };
  cfg.vrrp_instances = {member("VI_1", "192.0.2.10/24"), member("VI_GW", "10.0.0.1/24"),
                        member("ALONE", "10.1.0.1/24")};
  VirtualServer vs;
  vs.address = ip("192.0.2.10");
  vs.port = 80;
  cfg.virtual_servers = {vs};
  SyncGroup g;
  g.name = "director";
  g.instances = {"VI_1", "VI_GW"};
  cfg.sync_groups = {g};
  std::vector<vrrp::InstanceConfig> engine;
  for (auto& vi : cfg.vrrp_instances) engine.push_back(to_engine_config(vi));
  set_sync_groups(cfg, engine);
  EXPECT_EQ(engine[0].sync_group, "director");
  EXPECT_FALSE(engine[0].announce_first) << "it carries the virtual service";
  EXPECT_EQ(engine[1].sync_group, "director");
  EXPECT_TRUE(engine[1].announce_first);
  EXPECT_EQ(engine[2].sync_group, "");
  EXPECT_FALSE(engine[2].announce_first);
}

// The loader and the FSM judge advert_interval by the same rule.
TEST(VrrpRules, AdvertIntervalLoaderAndFsmAgree) {
  for (int version : {2, 3})
    for (auto d : {Duration(10ms), Duration(15ms), Duration(1s), Duration(1500ms), Duration(255s),
                   Duration(256s), Duration(40950ms), Duration(40960ms)}) {
      auto v = version == 2 ? vrrp::Version::v2 : vrrp::Version::v3;
      std::string text = "[[vrrp_instance]]\nname = \"VI\"\ninterface = \"eth0\"\n"
                         "virtual_router_id = 1\nversion = " + std::to_string(version) +
                         "\nadvert_interval = \"" +
                         std::to_string(std::chrono::duration_cast<Millis>(d).count()) +
                         "ms\"\nvirtual_ipaddresses = [\"192.0.2.1\"]\n";
      bool loads = load_string(text, "t").ok();
      vrrp::Params p;
      p.version = v;
      p.advert_interval = d;
      p.primary_ip = ip("192.0.2.2");
      bool runs = !vrrp::validate(p).has_value();
      EXPECT_EQ(loads, vrrp::valid_advert_interval(v, d)) << version << " " << d.count();
      EXPECT_EQ(runs, loads) << version << " " << d.count();
    }
}

TEST(LvsConversion, CopiesSchedulerFlagsAndTunnel) {
  VirtualServer vs;
  vs.address = ip("192.0.2.1");
  vs.port = 80;
  vs.scheduler = ipvs::Scheduler::sh;
  vs.scheduler_flags = ipvs::kShPort;
  vs.forwarding = Forwarding::tun;
  RealServer rs;
  rs.address = ip("192.0.2.11");
  rs.port = 80;
  rs.tunnel = {ipvs::TunType::gue, 6080, ipvs::kTunRemCsum};
  vs.real_servers.push_back(rs);
  RealServer nat = rs;
  nat.address = ip("192.0.2.12");
  nat.forwarding = Forwarding::nat;
  vs.real_servers.push_back(nat);
  Config cfg;
  cfg.virtual_servers.push_back(vs);
  auto specs = to_ipvs_specs(cfg);
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].scheduler, "sh");
  EXPECT_EQ(specs[0].flags, ipvs::kShPort);
  ASSERT_EQ(specs[0].reals.size(), 2u);
  EXPECT_EQ(specs[0].reals[0].dest.method, ipvs::Method::tun);
  EXPECT_EQ(specs[0].reals[0].dest.tunnel, rs.tunnel);
  EXPECT_EQ(specs[0].reals[1].dest.method, ipvs::Method::nat);
  EXPECT_EQ(specs[0].reals[1].dest.tunnel, ipvs::Tunnel{});  // tunnel only for tun
}

TEST(LvsConversion, OnePacketSetsTheServiceFlag) {
  VirtualServer vs;
  vs.address = ip("192.0.2.1");
  vs.port = 53;
  vs.protocol = Protocol::udp;
  vs.one_packet = true;
  vs.scheduler = ipvs::Scheduler::sh;
  vs.scheduler_flags = ipvs::kShPort;
  Config cfg;
  cfg.virtual_servers.push_back(vs);
  auto specs = to_ipvs_specs(cfg);
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].flags, ipvs::kOnePacket | ipvs::kShPort);
}

TEST(LvsConversion, DefaultServiceIsTheIpvsDefault) {
  VirtualServer vs;
  vs.address = ip("192.0.2.1");
  vs.port = 80;
  Config cfg;
  cfg.virtual_servers.push_back(vs);
  auto specs = to_ipvs_specs(cfg);
  const ipvs::VirtualServiceSpec d;
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].scheduler, d.scheduler);
  EXPECT_EQ(specs[0].flags, d.flags);
  EXPECT_EQ(specs[0].persistence, d.persistence);
  EXPECT_EQ(specs[0].netmask, d.netmask);
  EXPECT_EQ(specs[0].quorum, d.quorum);
  EXPECT_EQ(specs[0].hysteresis, d.hysteresis);
  EXPECT_EQ(specs[0].inhibit_on_failure, d.inhibit_on_failure);
  EXPECT_EQ(specs[0].slow_start, d.slow_start);
}

TEST(IpvsNames, SchedulersAndChecksums) {
  for (size_t i = 0; i < ipvs::kSchedulers.size(); ++i) {
    auto s = ipvs::parse_scheduler(ipvs::kSchedulers[i]);
    ASSERT_TRUE(s);
    EXPECT_EQ(static_cast<size_t>(*s), i);
    EXPECT_EQ(ipvs::to_string(*s), ipvs::kSchedulers[i]);
  }
  EXPECT_FALSE(ipvs::parse_scheduler("random"));
  EXPECT_EQ(ipvs::sched_flag_scheduler("sh-port"), ipvs::Scheduler::sh);
  EXPECT_EQ(ipvs::sched_flag_scheduler("mh-fallback"), ipvs::Scheduler::mh);
  EXPECT_FALSE(ipvs::sched_flag_scheduler("flag-1"));
  for (auto n : {"none", "csum", "remcsum"})
    EXPECT_EQ(ipvs::tun_checksum_str(*ipvs::parse_tun_checksum(n)), n);
  EXPECT_FALSE(ipvs::parse_tun_checksum("crc"));
}

}  // namespace
}  // namespace hd::config

namespace hd {
namespace {

// The real-server role: one conversion (to_role_config), defaults that agree, every field.
TEST(RealServerConversion, DefaultRoleIsTheRolesDefault) {
  config::Config c;
  c.realserver = config::RealServerRole{};
  c.global.runtime_dir = "/run/x";
  auto r = to_role_config(c);
  realserver::RoleConfig d;
  EXPECT_EQ(r.arp_ignore, d.arp_ignore);
  EXPECT_EQ(r.arp_announce, d.arp_announce);
  EXPECT_EQ(r.rp_filter, d.rp_filter);
  EXPECT_EQ(r.check_interval, d.check_interval);
  EXPECT_EQ(r.interfaces, d.interfaces);
  EXPECT_TRUE(r.vips.empty());
  EXPECT_EQ(r.state_file, "/run/x/realserver.state");
}

TEST(RealServerConversion, CopiesEveryField) {
  config::Config c;
  config::RealServerRole role;
  role.vips = {{*IpAddress::parse("192.0.2.10"), config::Forwarding::dr},
               {*IpAddress::parse("2001:db8::10"), config::Forwarding::tun}};
  role.interfaces = {"eth0", "eth1"};
  role.arp_ignore = 2;
  role.arp_announce = 1;
  role.rp_filter = 2;
  role.check_interval = std::chrono::seconds(9);
  c.realserver = role;
  auto r = to_role_config(c);
  ASSERT_EQ(r.vips.size(), 2u);
  EXPECT_EQ(r.vips[0].address.str(), "192.0.2.10");
  EXPECT_FALSE(r.vips[0].tun);
  EXPECT_EQ(r.vips[1].address.str(), "2001:db8::10");
  EXPECT_TRUE(r.vips[1].tun);
  EXPECT_EQ(r.interfaces, role.interfaces);
  EXPECT_EQ(r.arp_ignore, 2);
  EXPECT_EQ(r.arp_announce, 1);
  EXPECT_EQ(r.rp_filter, 2);
  EXPECT_EQ(r.check_interval, std::chrono::seconds(9));
}

// What VRRP keeps of a config: everything but the virtual servers (a 100,000-server config
// is held once, by the director).
TEST(ConfigModel, WithoutVirtualServersKeepsEverythingElse) {
  config::Config c;
  c.source = "x.toml";
  c.global.router_id = "lb1";
  c.vrrp_instances.emplace_back().name = "VI_1";
  c.track_scripts.emplace_back().name = "s";
  c.sync_groups.emplace_back().name = "g";
  c.realserver.emplace();
  c.virtual_servers.emplace_back().real_servers.emplace_back();
  config::Config v = config::without_virtual_servers(c);
  EXPECT_TRUE(v.virtual_servers.empty());
  EXPECT_EQ(v.source, "x.toml");
  EXPECT_EQ(v.global.router_id, "lb1");
  ASSERT_EQ(v.vrrp_instances.size(), 1u);
  EXPECT_EQ(v.vrrp_instances[0].name, "VI_1");
  ASSERT_EQ(v.track_scripts.size(), 1u);
  ASSERT_EQ(v.sync_groups.size(), 1u);
  EXPECT_TRUE(v.realserver.has_value());
}

// Equal checks are one object after loading (a 100,000-server config holds a handful), a
// different one is its own, and changing one real server's check leaves the others alone.
TEST(ConfigModel, EqualChecksAreSharedAfterLoading) {
  auto r = config::load_string(R"([[virtual_server]]
address = "10.0.0.1"
port = 80
  [[virtual_server.real_server]]
  address = "10.0.1.1"
  check = { type = "tcp", interval = "3s" }
  [[virtual_server.real_server]]
  address = "10.0.1.2"
  check = { type = "tcp", interval = "3s" }
  [[virtual_server.real_server]]
  address = "10.0.1.3"
  check = { type = "tcp", interval = "4s" }
  [[virtual_server.real_server]]
  address = "10.0.1.4"
)", "t.toml");
  ASSERT_TRUE(r.ok());
  auto& rs = r.config->virtual_servers.at(0).real_servers;
  EXPECT_TRUE(rs[0].check.same_object(rs[1].check));
  EXPECT_FALSE(rs[0].check.same_object(rs[2].check));
  EXPECT_EQ(rs[2].check->interval, std::chrono::seconds(4));
  EXPECT_FALSE(rs[3].check);
  rs[1].check.mut().interval = std::chrono::seconds(9);
  EXPECT_FALSE(rs[0].check.same_object(rs[1].check));
  EXPECT_EQ(rs[0].check->interval, std::chrono::seconds(3));
  EXPECT_EQ(rs[1].check->interval, std::chrono::seconds(9));
  EXPECT_NE(rs[0], rs[1]);
}

}  // namespace
}  // namespace hd
