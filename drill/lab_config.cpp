// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/lab_config.h"

#include <cmath>

namespace hd::drill {
namespace {

Duration seconds(double s) { return std::chrono::milliseconds(std::lround(s * 1000)); }

IpAddress ip(const std::string& s) { return *IpAddress::parse(s); }

config::VrrpInstance instance(const LabParams& p, int i, const std::string& name,
                              const std::string& ifname, int vrid, const std::string& vip,
                              const std::string& label, const std::string& peer) {
  config::VrrpInstance vi;
  vi.name = name;
  vi.interface = ifname;
  vi.vrid = vrid;
  vi.priority = i == 0 ? 150 : 100;
  vi.version = p.version;
  vi.advert_interval = seconds(p.advert);
  vi.preempt = p.preempt;
  vi.preempt_delay = seconds(p.preempt_delay);
  vi.track_interfaces = {ifname};
  vi.garp.count = 3;
  vi.garp.spacing = std::chrono::milliseconds(50);
  vi.garp.second_burst_delay = std::chrono::seconds(1);
  vi.vips.push_back({*IpPrefix::parse(vip + "/24"), label});
  // Adverts from anyone but the other director are dropped (and counted): an on-link host
  // cannot preempt, cut a Backup's timer or stretch the interval (the advert-flood scenario).
  vi.peers = {ip(peer)};
  return vi;
}

}  // namespace

config::Config director_config(const Lab& lab, const LabParams& p, int i,
                               const std::array<int, 3>& weights,
                               const std::optional<config::AuthSection>& auth) {
  const std::string name = Lab::director(i);
  const bool nat = lab.mode == Mode::nat;
  config::Config c;
  c.global.router_id = "drill-" + name;
  c.global.control_socket = lab.workdir + "/" + name + ".sock";
  c.global.runtime_dir = lab.workdir + "/" + name + "-run";
  c.global.state_dir = lab.workdir + "/" + name + "-state";
  c.global.reconcile_interval = std::chrono::seconds(1);
  if (p.nftables) {
    c.global.dataplane = config::Dataplane::nftables;  // no IPVS sync daemon: conntrackd's
    if (p.conntrackd)
      c.global.conntrackd = config::Conntrackd{lab.workdir + "/" + name + "-conntrackd.conf", "VI_1"};
  } else {
    c.global.lvs_sync_daemon = config::SyncDaemon{nat ? "eth1" : "eth0", "VI_1", 51};
  }
  c.global.vrrp_auth = auth;

  const int other = 1 - i;
  c.vrrp_instances.push_back(
      instance(p, i, "VI_1", "eth0", 51, lab.vip(), "eth0:1", lab.director_ip(other)));
  if (nat) {
    c.vrrp_instances.push_back(instance(p, i, "VI_GW", "eth1", 52, "10.10.0.1", "eth1:1",
                                        lab.director_back_ip(other)));
    // The VIP and the real servers' gateway share fate, or replies take the wrong director.
    config::SyncGroup g;
    g.name = "director";
    g.instances = {"VI_1", "VI_GW"};
    c.sync_groups.push_back(g);
  }

  config::VirtualServer vs;
  vs.address = ip(lab.vip());
  vs.port = 80;
  vs.scheduler = ipvs::parse_scheduler(p.scheduler).value_or(ipvs::Scheduler::wrr);
  vs.forwarding = nat ? config::Forwarding::nat : config::Forwarding::dr;
  vs.inhibit_on_failure = p.inhibit;
  vs.slow_start = seconds(p.slow_start);
  vs.persistence_timeout = std::chrono::seconds(p.persistence);
  for (int r = 0; r < 3; ++r) {
    config::RealServer rs;
    rs.address = ip(lab.real_ip(r));
    rs.port = 80;
    rs.weight = weights[static_cast<size_t>(r)];
    config::Check ck;
    ck.type = p.check_type == "tcp" ? config::CheckType::tcp : config::CheckType::http;
    if (ck.type == config::CheckType::http) ck.path = p.check_path;
    ck.half_open = ck.type == config::CheckType::tcp;  // the loader's default for tcp: syn
    ck.interval = seconds(p.check_interval);
    ck.timeout = seconds(p.check_timeout);
    ck.rise = p.rise;
    ck.fall = p.fall;
    rs.check = ck;
    vs.real_servers.push_back(rs);
  }
  c.virtual_servers.push_back(vs);
  return c;
}

config::Config real_server_config(const Lab& lab, int r, const bool extra_vip) {
  const std::string name = Lab::real(r);
  config::Config c;
  c.global.router_id = "drill-" + name;
  c.global.control_socket = lab.workdir + "/" + name + ".sock";
  c.global.runtime_dir = lab.workdir + "/" + name + "-run";
  c.global.state_dir = lab.workdir + "/" + name + "-state";
  config::RealServerRole role;
  role.vips.push_back({ip(lab.vip()), config::Forwarding::dr});
  if (extra_vip) role.vips.push_back({ip(lab.extra_vip()), config::Forwarding::dr});
  role.interfaces = {"eth0"};
  role.check_interval = std::chrono::seconds(1);
  c.realserver = role;
  return c;
}

}  // namespace hd::drill
