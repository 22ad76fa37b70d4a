// SPDX-License-Identifier: GPL-2.0-or-later
// keepalived.conf -> hadirector config: each mapped keyword lands where it should, each one
// not carried over is a warning at its line, and every Debian sample and every file of the
// shared corpus imports into TOML that the loader (hadirector check) accepts.
#include "migrate/keepalived_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "daemon/config/loader.h"
#include "migrate/map_files.h"

namespace hd::migrate::keepalived {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::Contains;
using ::testing::HasSubstr;

Imported import_text(const std::string& text) {
  MapFiles f;
  f.files["/etc/keepalived/keepalived.conf"] = text;
  return import_file("/etc/keepalived/keepalived.conf", f, ReadOptions{"lb1"});
}

std::vector<std::string> said(const Imported& im) {
  std::vector<std::string> out;
  for (auto& d : im.diagnostics) out.push_back(d.str());
  return out;
}

// What the importer writes must load, and load to what it imported.
config::Config reload(const Imported& im) {
  auto r = config::load_string(to_toml(im), "imported.toml");
  for (auto& e : r.errors) ADD_FAILURE() << e.str() << "\n" << to_toml(im);
  return r.config.value_or(config::Config{});
}

TEST(KeepalivedImport, VrrpInstanceKeywordsMap) {
  auto im = import_text(R"(
global_defs {
  router_id lb-a
  vrrp_garp_master_repeat 3
  vrrp_garp_master_delay 4
}
vrrp_script chk {
  script "pidof haproxy"
  interval 2
  timeout 1
  weight -20
  rise 2
  fall 3
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  nopreempt
  preempt_delay 30
  authentication {
    auth_type PASS
    auth_pass secret
  }
  unicast_src_ip 10.0.0.1
  unicast_peer {
    10.0.0.2
  }
  virtual_ipaddress {
    192.0.2.10/24 dev eth0 label eth0:1
    192.0.2.11
  }
  virtual_ipaddress_excluded {
    2001:db8::10/64
  }
  track_interface {
    eth1
  }
  track_script {
    chk weight -30
  }
  notify_master "/etc/keepalived/master.sh now"
  notify_fault /etc/keepalived/fault.sh
}
vrrp_instance VI_2 {
  interface eth1
  virtual_router_id 52
  virtual_ipaddress {
    10.0.0.254/24
  }
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
  sync_group_tracking_weight
}
)");
  auto& c = im.config;
  EXPECT_EQ(c.global.router_id, "lb-a");
  ASSERT_EQ(c.vrrp_instances.size(), 2u);
  auto& vi = c.vrrp_instances[0];
  EXPECT_EQ(vi.name, "VI_1");
  EXPECT_EQ(vi.interface, "eth0");
  EXPECT_EQ(vi.vrid, 51);
  EXPECT_EQ(vi.priority, 150);
  EXPECT_EQ(vi.version, 2);  // keepalived's default, not hadirector's 3
  EXPECT_EQ(vi.advert_interval, 1s);
  EXPECT_FALSE(vi.preempt);
  EXPECT_EQ(vi.preempt_delay, 30s);
  EXPECT_EQ(vi.auth_pass, "secret");
  EXPECT_EQ(vi.unicast_source, IpAddress::parse("10.0.0.1"));
  EXPECT_THAT(vi.unicast_peers, ElementsAre(*IpAddress::parse("10.0.0.2")));
  ASSERT_EQ(vi.vips.size(), 2u);
  EXPECT_EQ(vi.vips[0].prefix.str(), "192.0.2.10/24");
  EXPECT_EQ(vi.vips[0].label, "eth0:1");
  EXPECT_EQ(vi.vips[1].prefix.str(), "192.0.2.11/32");
  ASSERT_EQ(vi.excluded_vips.size(), 1u);
  EXPECT_EQ(vi.excluded_vips[0].prefix.str(), "2001:db8::10/64");
  EXPECT_THAT(vi.track_interfaces, ElementsAre("eth1"));
  ASSERT_EQ(vi.track_scripts.size(), 1u);
  EXPECT_EQ(vi.track_scripts[0].weight, -30);
  EXPECT_THAT(vi.notify.master, ElementsAre("/etc/keepalived/master.sh", "now"));
  EXPECT_THAT(vi.notify.fault, ElementsAre("/etc/keepalived/fault.sh"));
  EXPECT_EQ(vi.garp.count, 3);
  EXPECT_EQ(vi.garp.second_burst_delay, 4s);
  ASSERT_EQ(c.track_scripts.size(), 1u);
  auto& s = c.track_scripts[0];
  EXPECT_THAT(s.command, ElementsAre("/usr/bin/env", "pidof", "haproxy"));  // PATH at run time
  EXPECT_EQ(s.interval, 2s);
  EXPECT_EQ(s.timeout, 1s);
  EXPECT_EQ(s.weight, -20);
  EXPECT_EQ(s.rise, 2);
  EXPECT_EQ(s.fall, 3);
  ASSERT_EQ(c.sync_groups.size(), 1u);
  EXPECT_THAT(c.sync_groups[0].instances, ElementsAre("VI_1", "VI_2"));
  EXPECT_EQ(im.warnings(), 0u) << ::testing::PrintToString(said(im));
  auto back = reload(im);
  EXPECT_EQ(back.vrrp_instances, c.vrrp_instances);
  EXPECT_EQ(back.track_scripts, c.track_scripts);
}

TEST(KeepalivedImport, VirtualServerKeywordsMap) {
  auto im = import_text(R"(
virtual_server 192.0.2.1 80 {
  delay_loop 10
  lb_algo wrr
  lb_kind NAT
  persistence_timeout 300
  persistence_granularity 255.255.255.0
  protocol TCP
  quorum 2
  hysteresis 1
  inhibit_on_failure
  sorry_server 10.0.0.99 8080
  real_server 10.0.0.1 8080 {
    weight 3
    uthreshold 100
    lthreshold 50
    HTTP_GET {
      url {
        path /health
        status_code 200
      }
      connect_timeout 3
      retry 2
      delay_before_retry 2
    }
  }
  real_server 10.0.0.2 8080 {
    TCP_CHECK {
      connect_port 8081
      connect_timeout 20
    }
  }
  real_server 10.0.0.3 8080 {
    MISC_CHECK {
      misc_path "/usr/local/bin/check.sh 10.0.0.3"
      misc_timeout 5
      misc_dynamic
    }
  }
}
virtual_server fwmark 7 {
  ip_family inet6
  lb_algo sh
  sh-port
  lb_kind DR
  real_server 2001:db8::1 0 {
  }
}
virtual_server 192.0.2.2 53 {
  protocol UDP
  ops
  lvs_sched rr
  lvs_method TUN type gue port 6080
  real_server 10.0.1.1 53 {
  }
}
)");
  auto& c = im.config;
  ASSERT_EQ(c.virtual_servers.size(), 3u);
  auto& vs = c.virtual_servers[0];
  EXPECT_EQ(vs.key(), "tcp 192.0.2.1:80");
  EXPECT_EQ(vs.scheduler, ipvs::Scheduler::wrr);
  EXPECT_EQ(vs.forwarding, config::Forwarding::nat);
  EXPECT_EQ(vs.persistence_timeout, 300s);
  EXPECT_EQ(vs.persistence_netmask, 24);
  // keepalived: lost below 2 - 1, regained at 2 + 1; hadirector counts from the lower one.
  EXPECT_EQ(vs.quorum, 1);
  EXPECT_EQ(vs.hysteresis, 2);
  EXPECT_TRUE(vs.inhibit_on_failure);
  ASSERT_TRUE(vs.sorry_server);
  EXPECT_EQ(vs.sorry_server->port, 8080);
  ASSERT_EQ(vs.real_servers.size(), 3u);
  auto& r0 = vs.real_servers[0];
  EXPECT_EQ(r0.port, 8080);
  EXPECT_EQ(r0.weight, 3);
  EXPECT_EQ(r0.upper_threshold, 100);
  EXPECT_EQ(r0.lower_threshold, 50);
  ASSERT_TRUE(r0.check);
  EXPECT_EQ(r0.check->type, config::CheckType::http);
  EXPECT_EQ(r0.check->path, "/health");
  EXPECT_EQ(r0.check->interval, 10s);
  EXPECT_EQ(r0.check->timeout, 3s);
  EXPECT_EQ(r0.check->fall, 3);       // retry 2: down at the third failure
  EXPECT_TRUE(r0.check->initial_up);  // keepalived without alpha starts servers up
  auto& r1 = vs.real_servers[1];
  ASSERT_TRUE(r1.check);
  EXPECT_EQ(r1.check->type, config::CheckType::tcp);
  EXPECT_EQ(r1.check->connect_port, 8081);
  EXPECT_EQ(r1.check->timeout, 10s);  // cut to delay_loop, with a note
  EXPECT_EQ(r1.check->fall, 2);       // keepalived's default retry 1
  auto& r2 = vs.real_servers[2];
  ASSERT_TRUE(r2.check);
  EXPECT_EQ(r2.check->type, config::CheckType::script);
  EXPECT_THAT(r2.check->command, ElementsAre("/usr/local/bin/check.sh", "10.0.0.3"));
  EXPECT_EQ(r2.check->timeout, 5s);
  EXPECT_EQ(r2.check->exit_weights.size(), 254u);
  EXPECT_EQ(r2.check->exit_weights.at(12), 10);
  auto& fw = c.virtual_servers[1];
  EXPECT_EQ(fw.fwmark, 7u);
  EXPECT_EQ(fw.family(), Family::v6);
  EXPECT_EQ(fw.scheduler_flags, ipvs::kShPort);
  EXPECT_EQ(fw.forwarding, config::Forwarding::dr);
  auto& udp = c.virtual_servers[2];
  EXPECT_EQ(udp.protocol, config::Protocol::udp);
  EXPECT_TRUE(udp.one_packet);
  EXPECT_EQ(udp.forwarding, config::Forwarding::tun);
  ASSERT_EQ(udp.real_servers.size(), 1u);
  EXPECT_EQ(udp.real_servers[0].tunnel.type, ipvs::TunType::gue);
  EXPECT_EQ(udp.real_servers[0].tunnel.port, 6080);
  EXPECT_EQ(im.warnings(), 0u) << ::testing::PrintToString(said(im));
  EXPECT_THAT(said(im), Contains(HasSubstr(":28: note: TCP_CHECK: timeout 20s is longer")));
  auto back = reload(im);
  EXPECT_EQ(back.virtual_servers, c.virtual_servers);
}

TEST(KeepalivedImport, UdpCheckMaps) {
  auto im = import_text(R"(
virtual_server 192.0.2.1 53 {
  protocol UDP
  delay_loop 5
  real_server 10.0.0.1 53 {
    UDP_CHECK {
      connect_timeout 2
      payload 12340100
      require_reply 1234
    }
  }
}
)");
  auto& ch = *im.config.virtual_servers.at(0).real_servers.at(0).check;
  EXPECT_EQ(ch.type, config::CheckType::udp);
  EXPECT_EQ(ch.send, std::string("\x12\x34\x01\x00", 4));
  EXPECT_EQ(ch.expect, std::string("\x12\x34", 2));
  EXPECT_TRUE(ch.require_reply);
  EXPECT_EQ(ch.timeout, 2s);
  EXPECT_EQ(ch.interval, 5s);
  EXPECT_EQ(im.warnings(), 0u) << ::testing::PrintToString(said(im));
  auto back = reload(im);
  EXPECT_EQ(back.virtual_servers, im.config.virtual_servers);
}

TEST(KeepalivedImport, DnsSmtpAndPingChecksMap) {
  auto im = import_text(R"(
virtual_server 192.0.2.1 53 {
  real_server 10.0.0.1 53 {
    DNS_CHECK {
      type MX
      name example.test
    }
  }
  real_server 10.0.0.2 53 {
    DNS_CHECK {
    }
  }
  real_server 10.0.0.3 25 {
    SMTP_CHECK {
      helo_name lb.example
    }
  }
  real_server 10.0.0.4 53 {
    PING_CHECK {
    }
  }
}
)");
  auto& rs = im.config.virtual_servers.at(0).real_servers;
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].check->type, config::CheckType::dns);
  EXPECT_EQ(rs[0].check->query_name, "example.test");
  EXPECT_EQ(rs[0].check->query_type, 15);
  EXPECT_EQ(rs[1].check->query_name, ".");  // keepalived's defaults: the root, SOA, 3 retries
  EXPECT_EQ(rs[1].check->query_type, 6);
  EXPECT_EQ(rs[1].check->fall, 4);
  EXPECT_EQ(rs[2].check->type, config::CheckType::smtp);
  EXPECT_EQ(rs[2].check->helo_name, "lb.example");
  EXPECT_EQ(rs[3].check->type, config::CheckType::ping);
  EXPECT_FALSE(rs[3].check->connect_port);
  EXPECT_EQ(im.warnings(), 0u) << ::testing::PrintToString(said(im));
  auto back = reload(im);
  EXPECT_EQ(back.virtual_servers, im.config.virtual_servers);
}

// Corners where keepalived's numbers decide (each once made an import hadirector check
// refused, or a value keepalived would not run).
TEST(KeepalivedImport, KeepalivedsLimitsAndRoundings) {
  auto im = import_text(R"(
vrrp_instance A {
  interface eth0
  virtual_router_id 1
  advert_int 1.4
  unicast_peer {
    10.0.0.2
    10.0.0.2
  }
  virtual_ipaddress {
    192.0.2.1
  }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 2
  version 3
  advert_int 60
  virtual_ipaddress {
    192.0.2.2
  }
}
virtual_server 192.0.2.9 {
}
virtual_server 192.0.2.1 53 {
  persistence_granularity 255.255.0.0
  lb_kind TUN type gue
  real_server 10.0.0.1 {
    UDP_CHECK {
      payload Ab12f 3
      retry 500
    }
  }
}
)");
  auto& c = im.config;
  ASSERT_EQ(c.vrrp_instances.size(), 2u);
  EXPECT_EQ(c.vrrp_instances[0].advert_interval, 1s);  // nearest second, as keepalived
  EXPECT_EQ(c.vrrp_instances[0].unicast_peers.size(), 1u);
  EXPECT_EQ(c.vrrp_instances[1].advert_interval, 40950ms);
  ASSERT_EQ(c.virtual_servers.size(), 1u);
  auto& vs = c.virtual_servers[0];
  EXPECT_THAT(said(im), Contains(HasSubstr("virtual_server 192.0.2.9 without a port not supported")));
  EXPECT_EQ(vs.persistence_timeout, 360s);
  EXPECT_EQ(vs.persistence_netmask, 16);
  EXPECT_EQ(vs.forwarding, config::Forwarding::nat);  // gue without a port: keepalived refuses
  EXPECT_EQ(vs.real_servers.at(0).check->send, std::string("\xab\x12\xf3", 3));
  EXPECT_THAT(said(im), Contains(HasSubstr("retry: '500' is not a whole number from 0 to 99")));
  EXPECT_THAT(said(im), Contains(HasSubstr("lb_kind TUN: ")));
  reload(im);
}

// A group expands to one virtual server per member; ranges count up the last byte; a real
// server without a port takes each member's.
TEST(KeepalivedImport, VirtualServerGroupsExpand) {
  auto im = import_text(R"(
virtual_server_group web {
  192.0.2.1-3 80
  192.0.2.9 443
  fwmark 5
}
virtual_server group web {
  lb_kind DR
  real_server 10.0.0.1 {
  }
}
)");
  std::vector<std::string> keys;
  for (auto& vs : im.config.virtual_servers) {
    keys.push_back(vs.key());
    ASSERT_EQ(vs.real_servers.size(), 1u);
    EXPECT_EQ(vs.real_servers[0].port, vs.port);
  }
  EXPECT_THAT(keys, ElementsAre("tcp 192.0.2.1:80", "tcp 192.0.2.2:80", "tcp 192.0.2.3:80",
                                "tcp 192.0.2.9:443", "fwmark 5 inet"));
  reload(im);
}

// Where keepalived's reading of a mistake decides what the kernel gets, the import follows
// it (each found by the differential test against keepalived in the VM): a lower-case
// lb_kind runs as NAT; a non-tun service with a real server of the other family does not
// run at all; a service given twice is one IPVS service with both blocks' real servers.
TEST(KeepalivedImport, KeepalivedsReadingOfMistakesIsKept) {
  auto im = import_text(R"(
virtual_server 192.0.2.1 80 {
  lb_kind dr
  real_server 10.0.0.1 8080 {
  }
}
virtual_server 2001:db8::1 80 {
  real_server 10.0.0.2 80 {
  }
}
virtual_server_group g {
  192.0.2.5 80
}
virtual_server group g {
  lb_algo rr
  real_server 10.0.0.3 80 {
  }
}
virtual_server group g {
  lb_algo wrr
  real_server 10.0.0.3 80 {
  }
  real_server 10.0.0.4 80 {
  }
}
)");
  auto& c = im.config;
  ASSERT_EQ(c.virtual_servers.size(), 2u);
  EXPECT_EQ(c.virtual_servers[0].forwarding, config::Forwarding::nat);
  EXPECT_EQ(c.virtual_servers[0].real_servers.at(0).port, 8080);
  EXPECT_EQ(c.virtual_servers[1].key(), "tcp 192.0.2.5:80");
  EXPECT_EQ(c.virtual_servers[1].scheduler, ipvs::Scheduler::rr);
  ASSERT_EQ(c.virtual_servers[1].real_servers.size(), 2u);
  EXPECT_EQ(c.virtual_servers[1].real_servers[1].address, *IpAddress::parse("10.0.0.4"));
  EXPECT_THAT(said(im), Contains(HasSubstr(":3: warning: lb_kind dr not supported: NAT used, as "
                                           "keepalived uses it (keepalived reads NAT, DR and TUN "
                                           "in upper case only: write DR if that is meant)")));
  EXPECT_THAT(said(im), Contains(HasSubstr(":8: warning: real_server 10.0.0.2 is of the other "
                                           "address family")));
  EXPECT_THAT(said(im), Contains(HasSubstr(":19: note: virtual_server tcp 192.0.2.5:80 given again")));
  reload(im);
}

// What is not carried over is a warning at its own line, in keepalived's words where
// keepalived warns too.
TEST(KeepalivedImport, TrackFilesMap) {
  auto im = import_text(R"(vrrp_track_file maint {
  file "/run/keepalived/maint"
}
track_file offset {
  file /run/keepalived/offset
  weight 5 reverse
  init_file 3 overwrite
}
track_file same {
  file /run/keepalived/offset
}
track_file huge {
  file /run/keepalived/huge
  weight 1000
  init_file
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    192.0.2.1/24
  }
  track_file {
    maint weight 0
    offset
    huge weight 2 reverse
    same
    nosuch
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  priority 255
  virtual_ipaddress {
    192.0.2.2/24
  }
  track_file {
    maint
  }
}
)");
  auto& c = im.config;
  ASSERT_EQ(c.track_files.size(), 3u);
  EXPECT_EQ(c.track_files[0].name, "maint");
  EXPECT_EQ(c.track_files[0].path, "/run/keepalived/maint");
  EXPECT_EQ(c.track_files[0].weight, 1);  // keepalived's default, written out
  EXPECT_FALSE(c.track_files[0].init);
  EXPECT_EQ(c.track_files[1].weight, -5);
  EXPECT_EQ(c.track_files[1].init, 3);
  EXPECT_TRUE(c.track_files[1].init_overwrite);
  EXPECT_EQ(c.track_files[2].weight, 254);
  EXPECT_EQ(c.track_files[2].init, 0);
  auto& vi = c.vrrp_instances.at(0);
  ASSERT_EQ(vi.track_files.size(), 4u);
  EXPECT_EQ(vi.track_files[0], (config::TrackFileRef{"maint", 0}));
  EXPECT_EQ(vi.track_files[1], (config::TrackFileRef{"offset", std::nullopt}));
  EXPECT_EQ(vi.track_files[2], (config::TrackFileRef{"huge", -2}));
  EXPECT_EQ(vi.track_files[3], (config::TrackFileRef{"offset", 1}));  // same file, its own weight (1)
  EXPECT_EQ(c.vrrp_instances.at(1).track_files.at(0), (config::TrackFileRef{"maint", 0}));
  EXPECT_THAT(said(im),
              ElementsAre(HasSubstr(":9: warning: track_file same: /run/keepalived/offset is track_file offset's too"),
                          HasSubstr(":14: note: track_file huge: weight 1000 cut to 254"),
                          HasSubstr(":29: warning: vrrp_instance VI_1: track_file nosuch not supported"),
                          HasSubstr(":40: note: vrrp_instance VI_2 owns its addresses (priority 255): track_file maint tracked with weight 0")));
  auto back = reload(im);
  EXPECT_EQ(back.track_files, c.track_files);
  EXPECT_EQ(back.vrrp_instances.at(0).track_files, vi.track_files);
  EXPECT_THAT(to_toml(im), HasSubstr("# from /etc/keepalived/keepalived.conf:4\n[[track_file]]"));
}

TEST(KeepalivedImport, FileChecksMap) {
  auto im = import_text(R"(virtual_server 192.0.2.1 80 {
  real_server 10.0.0.1 80 {
    weight 50
    FILE_CHECK {
      track_file maint
    }
  }
  real_server 10.0.0.2 80 {
    FILE_CHECK {
      track_file load
      weight 3 reverse
      dynamic
    }
  }
  real_server 10.0.0.3 80 {
    FILE_CHECK {
      track_file load
    }
  }
  real_server 10.0.0.4 80 {
    FILE_CHECK {
      track_file nosuch
    }
  }
}
track_file maint {
  file /run/ka/maint
  weight 0
}
track_file load {
  file /run/ka/load
}
)");
  auto& rss = im.config.virtual_servers.at(0).real_servers;
  ASSERT_EQ(rss.size(), 4u);
  ASSERT_TRUE(rss[0].check);
  EXPECT_EQ(rss[0].check->type, config::CheckType::file);
  EXPECT_EQ(rss[0].check->file, "/run/ka/maint");
  EXPECT_EQ(rss[0].check->file_weight, 0);
  EXPECT_EQ(rss[0].check->interval, 1s);
  ASSERT_TRUE(rss[1].check);
  EXPECT_EQ(rss[1].check->file, "/run/ka/load");
  EXPECT_EQ(rss[1].check->file_weight, -3);
  EXPECT_FALSE(rss[2].check);  // weight 1 (the track_file's) without dynamic moves nothing
  EXPECT_FALSE(rss[3].check);
  EXPECT_TRUE(im.config.track_files.empty());  // no instance tracks them
  EXPECT_THAT(said(im),
              ElementsAre(HasSubstr(":4: note: FILE_CHECK: /run/ka/maint is read every second"),
                          HasSubstr(":9: note: FILE_CHECK: /run/ka/load is read every second"),
                          HasSubstr(":16: warning: FILE_CHECK not supported: weight 1 without dynamic"),
                          HasSubstr(":21: warning: FILE_CHECK not supported: no track_file nosuch")));
  auto back = reload(im);
  EXPECT_EQ(*back.virtual_servers.at(0).real_servers.at(1).check, *rss[1].check);
}

TEST(KeepalivedImport, InstancesWithoutVipsImportWhereKeepalivedRunsThem) {
  auto im = import_text(R"(vrrp_instance CLOUD {
  interface eth0
  virtual_router_id 7
  notify_master "/usr/local/bin/move-eni up"
}
vrrp_instance EXCL {
  interface eth0
  virtual_router_id 8
  virtual_ipaddress_excluded {
    fd00::9/64
  }
  notify_master /bin/true
}
vrrp_instance V3 {
  interface eth0
  virtual_router_id 9
  version 3
  notify_master /bin/true
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 10
  unicast_src_ip fd00::1
  unicast_peer {
    fd00::2
  }
  notify_master /bin/true
}
)");
  auto& c = im.config;
  ASSERT_EQ(c.vrrp_instances.size(), 2u);
  EXPECT_EQ(c.vrrp_instances[0].name, "CLOUD");
  EXPECT_TRUE(c.vrrp_instances[0].vips.empty());
  EXPECT_EQ(c.vrrp_instances[0].version, 2);
  EXPECT_EQ(c.vrrp_instances[1].name, "EXCL");
  EXPECT_TRUE(c.vrrp_instances[1].vips.empty());
  EXPECT_EQ(c.vrrp_instances[1].excluded_vips.size(), 1u);
  EXPECT_THAT(said(im),
              ElementsAre(HasSubstr(":1: note: vrrp_instance CLOUD: notify commands"),
                          HasSubstr(":6: note: vrrp_instance EXCL: notify commands"),
                          HasSubstr(":14: warning: vrrp_instance V3 has no virtual_ipaddress not supported with VRRP version 3"),
                          HasSubstr(":20: warning: vrrp_instance V6 has no virtual_ipaddress not supported with IPv6")));
  auto back = reload(im);
  EXPECT_EQ(back.vrrp_instances, c.vrrp_instances);
}

TEST(KeepalivedImport, TrackFileCornersFoundInReview) {
  auto im = import_text(R"(track_file a {
  file /run/ka/a
  weight 0 reverse
}
track_file b {
  file /run/ka/a
  weight 7
}
track_file big {
  file /run/ka/big
  weight 1000
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    192.0.2.1/24
  }
  track_file {
    b
    a weight 0 reverse
  }
}
virtual_server 192.0.2.1 80 {
  lb_kind DR
  real_server 10.0.0.1 8080 {
    FILE_CHECK {
      track_file big
      dynamic
    }
  }
}
vrrp_instance NOVIP {
  interface eth0
  virtual_router_id 2
  unicast_peer {
    fd00::2
  }
  notify_master /bin/true
}
)");
  auto& vi = im.config.vrrp_instances.at(0);
  ASSERT_EQ(im.config.vrrp_instances.size(), 1u);  // NOVIP: IPv6 peers, keepalived refuses it
  ASSERT_EQ(vi.track_files.size(), 2u);
  EXPECT_EQ(vi.track_files[0], (config::TrackFileRef{"a", 7}));  // b is a's file, b's weight
  EXPECT_EQ(vi.track_files[1], (config::TrackFileRef{"a", 0}));
  auto& ch = *im.config.virtual_servers.at(0).real_servers.at(0).check;
  EXPECT_EQ(ch.file_weight, 1000);  // not the +-254 cut of a VRRP weight
  EXPECT_FALSE(ch.connect_port);    // a file has no port
  EXPECT_THAT(said(im), Contains(HasSubstr(":3: warning: weight 0 reverse")));
  EXPECT_THAT(said(im), Contains(HasSubstr(":21: warning: track_file a: weight 0 reverse")));
  EXPECT_THAT(said(im), Contains(HasSubstr("vrrp_instance NOVIP has no virtual_ipaddress not supported with IPv6")));
  reload(im);
}

// As keepalived 2.2.7 runs a sync group (seen in a namespace: "(A) ignoring tracked script
// chk with weights due to SYNC group"; its SIGUSR1 dump lists a group's track_file as
// "Tracking instances: A, weight 3; B, weight 3"): a member's weighted tracking is ignored
// unless the group sets sync_group_tracking_weight, weight 0 stays; the group's own
// tracking applies to every member, which hadirector's groups do from one member.
TEST(KeepalivedImport, SyncGroupTrackingMapsAsKeepalivedRunsIt) {
  auto im = import_text(R"(vrrp_script chk {
  script "/bin/true"
  weight -20
}
vrrp_script up {
  script "/bin/true"
}
track_file tf {
  file /run/tf
  weight 5
}
track_file alias {
  file /run/tf
}
track_file one {
  file /run/one
}
vrrp_instance A {
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    10.0.0.1
  }
  track_script {
    chk
    up
  }
  track_file {
    tf
  }
}
vrrp_instance B {
  interface eth1
  virtual_router_id 2
  priority 100
  virtual_ipaddress {
    10.0.1.1
  }
  track_script {
    up
  }
  track_file {
    one
  }
}
vrrp_sync_group G {
  group {
    A
    B
  }
  track_interface {
    eth2
    eth0
  }
  track_script {
    chk weight 7
    up
    nope
  }
  track_file {
    alias weight 3
  }
}
)");
  auto& c = im.config;
  ASSERT_EQ(c.vrrp_instances.size(), 2u);
  auto& a = c.vrrp_instances[0];
  auto& b = c.vrrp_instances[1];
  auto names = [](auto& refs) {
    std::vector<std::string> out;
    for (auto& r : refs) out.push_back(r.name + (r.weight ? " " + std::to_string(*r.weight) : ""));
    return out;
  };
  // A's chk (the script's -20) and tf (5) are left out, up (weight 0) stays; the group's chk
  // goes to A with its weight 7, its alias of tf to A as tf with 3; up is tracked by both.
  EXPECT_THAT(names(a.track_scripts), ElementsAre("up", "chk 7"));
  EXPECT_THAT(names(a.track_files), ElementsAre("tf 3"));
  EXPECT_THAT(names(b.track_scripts), ElementsAre("up"));
  EXPECT_THAT(names(b.track_files), ElementsAre("one 0"));  // keepalived's weight 1 read as 0
  // eth2 to A; eth0 is A's own interface, so B tracks it.
  EXPECT_THAT(a.track_interfaces, ElementsAre("eth2"));
  EXPECT_THAT(b.track_interfaces, ElementsAre("eth0"));
  auto all = said(im);
  EXPECT_THAT(all, Contains(HasSubstr(":26: warning: vrrp_instance A: track_script chk (weight "
                                      "-20) not tracked: A is in vrrp_sync_group G")));
  EXPECT_THAT(all, Contains(HasSubstr(":30: warning: vrrp_instance A: track_file tf (weight 5) "
                                      "not tracked")));
  EXPECT_THAT(all, Contains(HasSubstr(":57: note: vrrp_sync_group G: track_script chk tracked by A")));
  EXPECT_THAT(all, Contains(HasSubstr(":58: note: vrrp_sync_group G: track_script up: every "
                                      "member tracks it itself")));
  EXPECT_THAT(all, Contains(HasSubstr(":59: warning: vrrp_sync_group G: track_script nope not "
                                      "supported: no such vrrp_script")));
  EXPECT_THAT(all, Contains(HasSubstr(":62: note: vrrp_sync_group G: track_file alias (as tf) tracked by A")));
  EXPECT_THAT(all, Contains(HasSubstr(":44: note: vrrp_instance B: track_file one tracked with "
                                      "weight 0 (a value other than 0 faults the group)")));
  EXPECT_THAT(all, Contains(HasSubstr(":53: note: vrrp_sync_group G: track_interface eth2 tracked by A")));
  EXPECT_THAT(all, Contains(HasSubstr(":54: note: vrrp_sync_group G: track_interface eth0 tracked by B")));
  auto back = reload(im);
  EXPECT_EQ(back.vrrp_instances, c.vrrp_instances);
}

// With a member that owns its addresses (keepalived 2.2.7, in a namespace: "(G) Cannot have
// weighted track file 'gf' with member having priority 255 - setting weight 0"; "(A) ignoring
// tracked file own5 with weight 5 due to SYNC group": the group's rule before the owner's;
// "(B) ignoring weight from tracked file r1 due to SYNC group. specify weight 0": a weight 1
// reverse tracked as 0 reverse, which hadirector has not).
TEST(KeepalivedImport, SyncGroupWithAnAddressOwnerAndReverseFiles) {
  auto im = import_text(R"(track_file gf {
  file /run/gf
}
track_file own5 {
  file /run/own5
  weight 5
}
track_file r1 {
  file /run/r1
  weight 1 reverse
}
vrrp_script s {
  script "/bin/true"
}
vrrp_instance A {
  interface eth0
  virtual_router_id 1
  priority 255
  virtual_ipaddress {
    10.0.0.1
  }
  track_file {
    own5
  }
  track_script {
    s
  }
}
vrrp_instance B {
  interface eth1
  virtual_router_id 2
  virtual_ipaddress {
    10.0.1.1
  }
  track_file {
    r1
  }
}
vrrp_sync_group G {
  group {
    A
    B
  }
  track_file {
    gf weight 2
  }
  track_script {
    s weight 4
  }
}
)");
  ASSERT_EQ(im.config.vrrp_instances.size(), 2u);
  auto& a = im.config.vrrp_instances[0];
  auto& b = im.config.vrrp_instances[1];
  ASSERT_EQ(a.track_files.size(), 1u);  // own5 left out; the group's gf at weight 0
  EXPECT_EQ(a.track_files[0].name, "gf");
  EXPECT_EQ(a.track_files[0].weight, 0);
  EXPECT_TRUE(b.track_files.empty());  // r1 left out
  ASSERT_EQ(b.track_scripts.size(), 1u);  // the group's s goes to B (A tracks it itself)
  EXPECT_EQ(b.track_scripts[0].weight, 4);
  auto all = said(im);
  EXPECT_THAT(all, Contains(HasSubstr(":23: warning: vrrp_instance A: track_file own5 (weight 5) "
                                      "not tracked")));
  EXPECT_THAT(all, Contains(HasSubstr(":36: warning: vrrp_instance B: track_file r1 not tracked")));
  EXPECT_THAT(all, Contains(HasSubstr(":45: note: vrrp_sync_group G: track_file gf tracked with "
                                      "weight 0")));
  EXPECT_THAT(all, Contains(HasSubstr(":48: warning: vrrp_sync_group G: track_script s (weight 4): "
                                      "A tracks it itself")));
  reload(im);
}

TEST(KeepalivedImport, WhatIsNotCarriedOverIsWarnedAtItsLine) {
  auto im = import_text(R"(global_defs {
  notification_email {
    root
  }
  vrrp_strict
}
vvrp_script typo {
  script /bin/true
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  use_vmac
  authentication {
    auth_type AH
  }
  virtual_ipaddress {
    192.0.2.1 dev eth1
  }
  track_script {
    typo
  }
}
virtual_server 192.0.2.1 80 80 {
  lb_algo loadbalance
  real_server 10.0.0.1 80 {
    FILE_CHECK {
    }
    PING_CHECK {
    }
  }
}
)");
  EXPECT_THAT(said(im),
              ElementsAre(HasSubstr(":2: warning: notification_email not supported"),
                          HasSubstr(":5: warning: vrrp_strict not supported"),
                          HasSubstr(":7: warning: unknown keyword 'vvrp_script' (with its block)"),
                          HasSubstr(":13: warning: use_vmac not supported"),
                          HasSubstr(":15: warning: auth_type AH not supported"),
                          HasSubstr(":18: warning: dev eth1 not supported"),
                          HasSubstr(":21: warning: vrrp_instance VI_1: track_script typo not supported"),
                          HasSubstr(":24: warning: virtual_server: '80' not supported"),
                          HasSubstr(":25: warning: lb_algo loadbalance not supported"),
                          HasSubstr(":27: warning: FILE_CHECK not supported: no track_file named")));
  auto& ch = *im.config.virtual_servers.at(0).real_servers.at(0).check;
  EXPECT_EQ(ch.type, config::CheckType::ping);  // the first checker hadirector has
  reload(im);
}

// A named definition without its name is skipped, and of two with one name the first is
// used, as keepalived does, each with a warning at its line.
TEST(KeepalivedImport, NamelessAndRepeatedDefinitionsAreWarned) {
  auto im = import_text(R"(vrrp_script chk {
  script /bin/true
}
vrrp_script chk {
  script /bin/false
}
vrrp_script {
  script /bin/true
}
track_file f {
  file /run/f
}
vrrp_track_file f {
  file /run/g
}
track_file {
  file /run/h
}
virtual_server_group g {
  192.0.2.1 80
}
virtual_server_group g {
  192.0.2.2 80
}
virtual_server_group {
  192.0.2.3 80
}
)");
  EXPECT_THAT(said(im),
              ElementsAre(HasSubstr(":4: warning: vrrp_script chk defined again: the first one is used"),
                          HasSubstr(":7: warning: vrrp_script: the script has no name: ignored"),
                          HasSubstr(":13: warning: vrrp_track_file f defined again: the first one is used"),
                          HasSubstr(":16: warning: track_file: the track file has no name: ignored"),
                          HasSubstr(":22: warning: virtual_server_group g defined again: the first one is used"),
                          HasSubstr(":25: warning: virtual_server_group: the group has no name: ignored")));
  ASSERT_EQ(im.config.track_scripts.size(), 1u);
  EXPECT_EQ(im.config.track_scripts[0].command, std::vector<std::string>{"/bin/true"});
}

// keepalived takes any bytes; TOML holds UTF-8 only: such a line is dropped with a warning,
// and the header quotes it with \xNN escapes (found by the fuzzer).
TEST(KeepalivedImport, LinesThatAreNotUtf8AreDroppedAndQuotedEscaped) {
  auto im = import_text("vrrp_instance A {\n interface eth0\n virtual_router_id 1\n"
                        " virtual_ipaddress {\n  192.0.2.1 label eth0:\xb2\n }\n}\nk\x01 \xff\n");
  EXPECT_THAT(said(im), Contains(HasSubstr(":5: warning: '192.0.2.1' line is not valid UTF-8")));
  auto text = to_toml(im);
  EXPECT_THAT(text, HasSubstr("'k\\x01' line is not valid UTF-8"));
  reload(im);
}

// --lvs-only: what keepalived -C runs, nothing of VRRP (and no word about it).
TEST(KeepalivedImport, LvsOnlyLeavesVrrpOut) {
  MapFiles f;
  f.files["/k.conf"] = "global_defs {\n lvs_sync_daemon eth0 A\n}\nvrrp_script s {\n script /bin/true\n}\n"
                       "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n use_vmac\n"
                       " virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
                       "virtual_server 192.0.2.1 80 {\n real_server 10.0.0.1 80 {\n }\n}\n";
  auto im = import_file("/k.conf", f, ReadOptions{"lb1"}, ImportOptions{true});
  EXPECT_TRUE(im.config.vrrp_instances.empty());
  EXPECT_TRUE(im.config.track_scripts.empty());
  EXPECT_FALSE(im.config.global.lvs_sync_daemon);
  EXPECT_EQ(im.config.virtual_servers.size(), 1u);
  EXPECT_TRUE(im.diagnostics.empty()) << ::testing::PrintToString(said(im));
  reload(im);
}

TEST(KeepalivedImport, TheOutputCitesTheSourceOfEachSection) {
  auto im = import_text("vrrp_instance A {\n interface eth0\n virtual_router_id 1\n"
                        " virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
                        "virtual_server 192.0.2.1 80 {\n real_server 10.0.0.1 80 {\n }\n}\n");
  auto text = to_toml(im);
  EXPECT_THAT(text, HasSubstr("# from /etc/keepalived/keepalived.conf:1\n[[vrrp_instance]]"));
  EXPECT_THAT(text, HasSubstr("# from /etc/keepalived/keepalived.conf:8\n[[virtual_server]]"));
  EXPECT_THAT(text, HasSubstr("# from /etc/keepalived/keepalived.conf:9\n"));
  EXPECT_THAT(text, HasSubstr("# Everything in it was carried over."));
}

// Every file Debian ships and every file of the shared corpus: no crash, and TOML that
// loads. The corpus lives beside the project (../shared), as CI has it: its absence fails.
void import_dir(const std::string& dir, const std::string& prefix) {
  namespace fs = std::filesystem;
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  RealFiles files;
  int n = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename();
    if (!e.is_regular_file() || name.rfind(prefix, 0) != 0 || name.ends_with(".md")) continue;
    SCOPED_TRACE(name);
    auto im = import_file(e.path().string(), files, ReadOptions{"low"});
    auto r = config::load_string(to_toml(im), name + ".toml");
    for (auto& err : r.errors) ADD_FAILURE() << err.str();
    ++n;
  }
  EXPECT_GE(n, 10);
}

TEST(KeepalivedImport, EveryDebianSampleImports) { import_dir(HD_KEEPALIVED_SAMPLES, "keepalived.conf"); }
TEST(KeepalivedImport, EveryCorpusFileImports) { import_dir(HD_KEEPALIVED_CORPUS, ""); }

// The (neg) files of the corpus: each author's mistake is a warning at its line.
TEST(KeepalivedImport, CorpusMistakesAreWarned) {
  RealFiles files;
  auto warned = [&](const std::string& file) {
    auto im = import_file(std::string(HD_KEEPALIVED_CORPUS) + "/" + file, files, ReadOptions{"low"});
    std::vector<std::string> w;
    for (auto& d : im.diagnostics)
      if (d.severity == Severity::warning)
        w.push_back(std::to_string(d.pos.line) + ": " + d.message);
    return w;
  };
  using ::testing::Contains;
  EXPECT_THAT(warned("02-rootsongjc-k8s-handbook-lvs-dr-tcp-check.conf"),
              Contains(HasSubstr("lb_algo loadbalance not supported")));
  EXPECT_THAT(warned("03-stelfox-director-syncgroup-conntrackd-notify.conf"),
              Contains(HasSubstr("unicast_peer: needs a block")));
  EXPECT_THAT(warned("15-xusxlinux-k8s-apiserver-lvs-dr-ssl-get.conf"),
              Contains(HasSubstr("net_mask not supported")));
  EXPECT_THAT(warned("16-gzk2015-nginx-vvrp-script-typo.conf"),
              Contains("13: unknown keyword 'vvrp_script' (with its block): ignored, as keepalived does"));
  EXPECT_THAT(warned("23-pr1370-lvs-nat-http-get-sorry-server.conf"),
              Contains(HasSubstr("virtual_server: '80' not supported")));
  EXPECT_THAT(warned("21-dpvs-keepalived-fork-fnat-vsg-ipv6.conf"),
              Contains(HasSubstr("lb_kind FNAT not supported")));
}

}  // namespace
}  // namespace hd::migrate::keepalived
