// SPDX-License-Identifier: GPL-2.0-or-later
// to_toml: whatever it writes loads back to an equal config.
#include "daemon/config/writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "daemon/config/loader.h"

namespace hd::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}
IpPrefix pfx(const char* s) {
  return *IpPrefix::parse(s);
}

std::string errors_of(const LoadResult& r) {
  std::string all;
  for (auto& e : r.errors) all += e.str() + "\n";
  return all;
}

// Every field but `source` (the file name) and the source positions, which operator==
// of each part already leaves out. Reports each differing part by name.
void expect_same(const Config& want, const Config& got, const std::string& text) {
  SCOPED_TRACE("written:\n" + text);
  EXPECT_TRUE(want.global == got.global) << "[global] differs";
  ASSERT_EQ(want.vrrp_instances.size(), got.vrrp_instances.size());
  for (size_t i = 0; i < want.vrrp_instances.size(); ++i)
    EXPECT_TRUE(want.vrrp_instances[i] == got.vrrp_instances[i])
        << "vrrp_instance '" << want.vrrp_instances[i].name << "' differs";
  ASSERT_EQ(want.track_scripts.size(), got.track_scripts.size());
  for (size_t i = 0; i < want.track_scripts.size(); ++i)
    EXPECT_TRUE(want.track_scripts[i] == got.track_scripts[i])
        << "track_script '" << want.track_scripts[i].name << "' differs";
  ASSERT_EQ(want.sync_groups.size(), got.sync_groups.size());
  for (size_t i = 0; i < want.sync_groups.size(); ++i)
    EXPECT_TRUE(want.sync_groups[i] == got.sync_groups[i])
        << "sync_group '" << want.sync_groups[i].name << "' differs";
  ASSERT_EQ(want.virtual_servers.size(), got.virtual_servers.size());
  for (size_t i = 0; i < want.virtual_servers.size(); ++i) {
    auto& w = want.virtual_servers[i];
    auto& g = got.virtual_servers[i];
    EXPECT_TRUE(w == g) << "virtual_server " << w.key() << " differs";
    if (w.real_servers.size() == g.real_servers.size())
      for (size_t j = 0; j < w.real_servers.size(); ++j) {
        EXPECT_TRUE(w.real_servers[j] == g.real_servers[j])
            << "real_server " << w.real_servers[j].address << " of " << w.key() << " differs";
        if (w.real_servers[j].check && g.real_servers[j].check) {
          EXPECT_TRUE(*w.real_servers[j].check == *g.real_servers[j].check)
              << "its check (" << to_string(w.real_servers[j].check->type) << ") differs";
        }
      }
  }
  EXPECT_EQ(want.realserver.has_value(), got.realserver.has_value());
  if (want.realserver && got.realserver) {
    EXPECT_TRUE(*want.realserver == *got.realserver) << "[realserver] differs";
  }
}

// to_toml -> load_string -> equal; and writing the reloaded config gives the same text.
void expect_round_trip(const Config& cfg) {
  std::string text = to_toml(cfg);
  auto r = load_string(text, "written.toml");
  ASSERT_TRUE(r.ok()) << errors_of(r) << "written:\n" << text;
  expect_same(cfg, *r.config, text);
  EXPECT_EQ(to_toml(*r.config), text);
}

TEST(ConfigWriter, ShippedExamplesRoundTrip) {
  int n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(HD_SOURCE_DIR "/etc")) {
    if (e.path().extension() != ".toml") continue;
    SCOPED_TRACE(e.path().string());
    ++n;
    auto r = load_file(e.path());
    ASSERT_TRUE(r.ok()) << errors_of(r);
    expect_round_trip(*r.config);
  }
  EXPECT_GE(n, 5);  // etc/hadirector.toml and etc/examples/*.toml
}

// A config with every field away from its default, valid for the loader.
Config every_field() {
  Config c;
  c.source = "hand-built";
  auto& g = c.global;
  g.router_id = "lab-dir1";
  g.log_level = log::Level::debug;
  g.control_socket = "/tmp/hd lab/ctl.sock";
  g.runtime_dir = "/tmp/hd lab";
  g.dataplane = Dataplane::none;
  g.vrrp_realtime = true;
  g.vrrp_rt_priority = 42;
  g.vrrp_cpu_affinity = {0, 5};
  g.ipvs_remove_on_stop = true;
  g.reconcile_interval = 250ms;
  g.lvs_sync_daemon = SyncDaemon{"eth1", "VI_4", 7, 0};
  g.ipvs_timeouts = IpvsTimeouts{900s, 2min, 301s};
  g.metrics = MetricsEndpoint{*IpAddress::parse("::1"), 9100};

  VrrpInstance v4;
  v4.name = "VI_4";
  v4.interface = "eth0";
  v4.vrid = 51;
  v4.priority = 150;
  v4.version = 2;
  v4.advert_interval = 2s;
  v4.preempt = false;
  v4.preempt_delay = 1500ms;
  v4.handover_linger = 0ms;
  v4.vips = {{pfx("192.0.2.10/24"), "eth0:vip"},
             {pfx("192.0.2.11"), ""},
             {pfx("192.0.2.12/32"), "eth0:2"}};
  v4.unicast_source = ip("10.0.0.1");
  v4.unicast_peers = {ip("10.0.0.2"), ip("10.0.0.3")};
  v4.auth_pass = "pa\"ss\\";
  v4.garp = Garp{3, 50ms, 1min, Duration::zero()};
  v4.track_interfaces = {"eth0", "eth1"};
  v4.track_scripts = {{"chk_a", std::nullopt}, {"chk b", -20}, {"chk_c", 0}};
  v4.track_virtual_servers = {{"tcp 192.0.2.10:80", 0}, {"fwmark 7 inet6", -30}};
  v4.notify.master = {"/usr/local/bin/notify", "--msg", "say \"hi\" there", "back\\slash",
                      "two\nlines"};
  v4.notify.backup = {"/usr/local/bin/notify", "backup"};
  v4.notify.fault = {"/usr/local/bin/notify fault"};
  v4.notify.stop = {"/bin/sh", "-c", "echo 'stopped' >> /tmp/log"};
  v4.notify.timeout = 1500ms;
  c.vrrp_instances.push_back(v4);

  VrrpInstance v6;
  v6.name = "VI_6";
  v6.interface = "eth0";
  v6.vrid = 52;
  v6.advert_interval = 20ms;
  v6.vips = {{pfx("2001:db8::10/64"), ""}, {pfx("2001:db8::11"), ""}};
  v6.unicast_peers = {ip("2001:db8::2")};
  v6.garp.count = 0;
  v6.garp.refresh = 1h;
  c.vrrp_instances.push_back(v6);

  VrrpInstance vm;  // multicast, with an allow-list and its own interval bound
  vm.name = "VI_M";
  vm.interface = "eth1";
  vm.vrid = 53;
  vm.vips = {{pfx("198.51.100.10/24"), ""}};
  vm.peers = {ip("198.51.100.2"), ip("198.51.100.3")};
  // Not advertised, so of any family, with labels like the others.
  vm.excluded_vips = {{pfx("198.51.100.11/24"), "eth1:x"}, {pfx("2001:db8:1::11/64"), ""}};
  vm.adopt_interval_ratio = 0;
  c.vrrp_instances.push_back(vm);

  TrackScript a;
  a.name = "chk_a";
  a.command = {"/bin/true"};
  a.interval = 500ms;
  a.timeout = 250ms;
  a.rise = 2;
  a.fall = 3;
  a.weight = 10;
  c.track_scripts.push_back(a);
  TrackScript b;
  b.name = "chk b";
  b.command = {"/usr/bin/test", "-f", "/tmp/x y"};
  b.weight = -5;
  c.track_scripts.push_back(b);
  TrackScript cc;
  cc.name = "chk_c";
  cc.command = {"/bin/false"};
  c.track_scripts.push_back(cc);

  c.sync_groups.push_back({{}, "G1", {"VI_4", "VI_6"}});

  VirtualServer vs;
  vs.address = ip("192.0.2.10");
  vs.port = 80;
  vs.scheduler = ipvs::Scheduler::sh;
  vs.scheduler_flags = ipvs::kShFallback | ipvs::kShPort;
  vs.forwarding = Forwarding::dr;
  vs.persistence_timeout = 300s;
  vs.persistence_netmask = 24;
  vs.quorum = 2;
  vs.hysteresis = 1;
  vs.sorry_server = SorryServer{ip("192.0.2.99"), 8080};
  vs.inhibit_on_failure = true;
  vs.slow_start = 10s;
  {
    RealServer rs;  // tcp connect, every common check option
    rs.address = ip("192.0.2.21");
    rs.port = 80;
    rs.weight = 5;
    Check ch;
    ch.type = CheckType::tcp;
    ch.half_open = false;
    ch.interval = 3s;
    ch.timeout = 1s;
    ch.rise = 2;
    ch.fall = 3;
    ch.initial_up = true;
    ch.connect_address = ip("192.0.2.121");
    ch.connect_port = 8080;
    ch.source_address = ip("192.0.2.1");
    rs.check = ch;
    vs.real_servers.push_back(rs);
  }
  {
    RealServer rs;  // nat override with another port; tcp send/expect
    rs.address = ip("192.0.2.22");
    rs.port = 8080;
    rs.weight = 0;
    rs.forwarding = Forwarding::nat;
    rs.upper_threshold = 100;
    rs.lower_threshold = 10;
    Check ch;
    ch.send = "PING\r\n";
    ch.expect = "+PONG";
    ch.half_open = false;
    rs.check = ch;
    vs.real_servers.push_back(rs);
  }
  {
    RealServer rs;  // gue tunnel; http with every option
    rs.address = ip("198.51.100.5");
    rs.port = 80;
    rs.forwarding = Forwarding::tun;
    rs.tunnel = {ipvs::TunType::gue, 6080, ipvs::kTunRemCsum};
    Check ch;
    ch.type = CheckType::http;
    ch.path = "/health?x=1";
    ch.host = "www.example.com";
    ch.expect_status = {{200, 200}, {301, 302}};
    ch.body_contains = "\nok \"quoted\"\tand\\back";
    ch.body_regex = "^ok [a-z]+$";
    ch.body_sha256 = std::string(32, 'a') + std::string(32, 'F');
    ch.connect_timeout = 500ms;
    rs.check = ch;
    vs.real_servers.push_back(rs);
  }
  {
    RealServer rs;  // https
    rs.address = ip("192.0.2.24");
    rs.port = 80;
    Check ch;
    ch.type = CheckType::https;
    ch.method = HttpMethod::head;
    ch.expect_status = {{204, 204}};
    ch.tls_verify = false;
    ch.keepalive = true;
    ch.ca_file = "/etc/ssl/lab ca.pem";
    ch.sni = "api.example.com";
    ch.connect_port = 443;
    rs.check = ch;
    vs.real_servers.push_back(rs);
  }
  {
    RealServer rs;  // script
    rs.address = ip("192.0.2.25");
    rs.port = 80;
    Check ch;
    ch.type = CheckType::script;
    ch.command = {"/usr/lib/hd/check", "arg with space", "q\"uote"};
    ch.exit_weights = {{0, 100}, {2, 50}, {255, 0}};
    ch.timeout = 1500us;
    rs.check = ch;
    vs.real_servers.push_back(rs);
  }
  c.virtual_servers.push_back(vs);

  VirtualServer fw;  // fwmark, IPv6
  fw.fwmark = 7;
  fw.family_ = Family::v6;
  fw.protocol = Protocol::udp;
  fw.scheduler = ipvs::Scheduler::mh;
  fw.scheduler_flags = ipvs::kMhPort;
  fw.forwarding = Forwarding::dr;
  fw.persistence_timeout = 1h;
  fw.persistence_netmask = 64;
  fw.sorry_server = SorryServer{ip("2001:db8::99"), 0};
  {
    RealServer rs;
    rs.address = ip("2001:db8::21");
    rs.weight = 3;
    Check ch;
    ch.connect_port = 53;
    rs.check = ch;
    fw.real_servers.push_back(rs);
    RealServer rs2;
    rs2.address = ip("2001:db8::22");
    fw.real_servers.push_back(rs2);
  }
  c.virtual_servers.push_back(fw);

  VirtualServer sc;  // sctp on IPv6, gre tunnel to an IPv4 real server
  sc.address = ip("2001:db8::10");
  sc.port = 5000;
  sc.protocol = Protocol::sctp;
  sc.scheduler = ipvs::Scheduler::rr;
  sc.forwarding = Forwarding::tun;
  sc.sorry_server = SorryServer{ip("2001:db8::98"), 5001};
  {
    RealServer rs;
    rs.address = ip("2001:db8::31");
    rs.port = 5000;
    rs.tunnel = {ipvs::TunType::gre, 0, ipvs::kTunCsum};
    sc.real_servers.push_back(rs);
    RealServer rs2;
    rs2.address = ip("203.0.113.7");
    rs2.port = 5000;
    sc.real_servers.push_back(rs2);
  }
  c.virtual_servers.push_back(sc);

  VirtualServer empty;  // no real servers at all
  empty.address = ip("192.0.2.10");
  empty.port = 443;
  c.virtual_servers.push_back(empty);

  VirtualServer dns;  // udp, one-packet scheduling; udp checks with binary and text bytes
  dns.address = ip("192.0.2.53");
  dns.port = 53;
  dns.protocol = Protocol::udp;
  dns.one_packet = true;
  {
    RealServer rs;
    rs.address = ip("192.0.2.54");
    rs.port = 53;
    Check ch;
    ch.type = CheckType::udp;
    ch.send = std::string("\x12\x34\x01\x00\x00\x01\xff", 7);  // not UTF-8: send_hex
    ch.expect = std::string("\x12\x34", 2);
    ch.require_reply = true;
    rs.check = ch;
    dns.real_servers.push_back(rs);
    RealServer rs2;
    rs2.address = ip("192.0.2.55");
    rs2.port = 53;
    Check ch2;
    ch2.type = CheckType::udp;
    ch2.send = "ping";
    rs2.check = ch2;
    dns.real_servers.push_back(rs2);
  }
  c.virtual_servers.push_back(dns);

  RealServerRole role;
  role.vips = {{ip("192.0.2.10"), Forwarding::dr}, {ip("2001:db8::10"), Forwarding::tun}};
  role.interfaces = {"eth0", "eth1"};
  role.arp_ignore = 2;
  role.arp_announce = 1;
  role.rp_filter = 2;
  role.check_interval = 2s;
  c.realserver = role;
  return c;
}

TEST(ConfigWriter, EveryFieldRoundTrips) {
  expect_round_trip(every_field());
}

TEST(ConfigWriter, EscapedStringsSurvive) {
  const std::string nasty =
      "quote\" backslash\\ \nnewline\ttab 'single' '''triple''' \"\"\" é \x01\x7f\r\n";
  Config c;
  c.global.router_id = "\nleading newline, then: " + nasty;
  VrrpInstance vi;
  vi.name = nasty;
  vi.interface = "eth0";
  vi.vrid = 1;
  vi.vips = {{pfx("192.0.2.1"), ""}};
  vi.notify.master = {"/bin/echo", nasty, "", "'", "\"", "\\", "\n"};
  c.vrrp_instances.push_back(vi);
  c.sync_groups.push_back({{}, "g\"1", {nasty}});
  std::string text = to_toml(c);
  auto r = load_string(text, "written.toml");
  ASSERT_TRUE(r.ok()) << errors_of(r) << text;
  EXPECT_EQ(r.config->global.router_id, c.global.router_id);
  EXPECT_EQ(r.config->vrrp_instances.at(0).name, nasty);
  EXPECT_EQ(r.config->vrrp_instances.at(0).notify.master, vi.notify.master);
  expect_same(c, *r.config, text);
  EXPECT_THAT(text, HasSubstr(R"("quote\" backslash\\ \nnewline\ttab)"));
}

TEST(ConfigWriter, DefaultsAreLeftOut) {
  auto r = load_string(R"([global]
router_id = "r1"
[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
virtual_ipaddresses = ["192.0.2.1/24"]
[[virtual_server]]
address = "192.0.2.1"
port = 80
[[virtual_server.real_server]]
address = "192.0.2.2"
check = { type = "tcp" }
)",
                       "in.toml");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  // Only what identifies each thing; arrays of tables as [[...]], nested ones by full path.
  EXPECT_EQ(to_toml(*r.config), R"([global]
router_id = "r1"

[[vrrp_instance]]
interface = "eth0"
name = "VI_1"
virtual_ipaddresses = [ "192.0.2.1/24" ]
virtual_router_id = 51

[[virtual_server]]
address = "192.0.2.1"
port = 80

[[virtual_server.real_server]]
address = "192.0.2.2"

[virtual_server.real_server.check]
type = "tcp"
)");
}

// family_ means something for fwmark services only; beside an address the loader refuses it.
TEST(ConfigWriter, FamilyIsWrittenForFwmarkServicesOnly) {
  Config c;
  c.global.router_id = "r";
  VirtualServer vs;
  vs.address = ip("2001:db8::1");
  vs.port = 80;
  vs.family_ = Family::v6;
  c.virtual_servers.push_back(vs);
  std::string text = to_toml(c);
  EXPECT_THAT(text, Not(HasSubstr("family")));
  auto r = load_string(text, "written.toml");
  ASSERT_TRUE(r.ok()) << errors_of(r) << text;
  EXPECT_EQ(r.config->virtual_servers.at(0).family(), Family::v6);
}

// The loader fills in the host name for a missing router_id: an empty one is written.
TEST(ConfigWriter, EmptyConfigKeepsItsEmptyRouterId) {
  Config c;
  EXPECT_EQ(to_toml(c), "[global]\nrouter_id = \"\"\n");
  expect_round_trip(c);
}

TEST(ConfigWriter, DurationsAreExact) {
  EXPECT_EQ(duration_text(Duration::zero()), "0s");
  EXPECT_EQ(duration_text(100ms), "100ms");
  EXPECT_EQ(duration_text(2s), "2s");
  EXPECT_EQ(duration_text(90s), "90s");
  EXPECT_EQ(duration_text(120s), "2m");
  EXPECT_EQ(duration_text(2h), "2h");
  EXPECT_EQ(duration_text(1500us), "1.5ms");
  EXPECT_EQ(duration_text(1001us), "1.001ms");
  EXPECT_EQ(duration_text(3s + 7us), "3000.007ms");
  for (Duration d : std::initializer_list<Duration>{
           1us, 10us, 999us, 1ms, 1001us, 1500us, 123456us, 999999us, 1s, 1s + 1us, 59s, 60s, 61s,
           3599999999us, 1h, 25h, 1h + 1us, 24h * 365, 24h * 365 * 30 + 1us}) {
    auto back = parse_duration(duration_text(d));
    ASSERT_TRUE(back) << duration_text(d);
    EXPECT_EQ(*back, d) << duration_text(d);
  }
}

}  // namespace
}  // namespace hd::config
