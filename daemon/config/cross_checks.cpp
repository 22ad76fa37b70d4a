// SPDX-License-Identifier: GPL-2.0-or-later
// Checks across sections: names, VRIDs, sync groups, tracked scripts and virtual servers.
#include "daemon/config/sections.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "vrrp/rules.h"

namespace hd::config {
void cross_checks(Ctx& ctx, Config& cfg) {
  std::map<std::string, SourcePos> names;
  std::map<std::tuple<std::string, Family, int>, std::string> vrids;
  for (auto& vi : cfg.vrrp_instances) {
    if (!vi.auth && cfg.global.vrrp_auth) {
      vi.auth = *cfg.global.vrrp_auth;
      vi.auth->inherited = true;
    }
    // The trailer's bytes count against the MTU an advert must fit (vrrp/rules.h).
    if (vi.auth && !vi.vips.empty()) {
      const auto v = vi.version == 2 ? vrrp::Version::v2 : vrrp::Version::v3;
      const size_t max = vrrp::max_advertised_addresses(v, vi.family(), vrrp::kAdvertMtu,
                                                        vrrp::kAuthTrailerSize);
      if (vi.vips.size() > max)
        ctx.error(vi.pos, "instance '" + vi.name + "' advertises " +
                              std::to_string(vi.vips.size()) +
                              " virtual IP addresses; with authentication one advert carries at "
                              "most " + std::to_string(max) + " within a " +
                              std::to_string(vrrp::kAdvertMtu) +
                              "-byte MTU: list the rest in 'virtual_ipaddresses_excluded'");
    }
    if (!names.emplace(vi.name, vi.pos).second)
      ctx.error(vi.pos, "duplicate vrrp_instance name '" + vi.name + "'");
    auto key = std::make_tuple(vi.interface, vi.family(), vi.vrid);
    auto [it, fresh] = vrids.emplace(key, vi.name);
    if (!fresh)
      ctx.error(vi.pos, "virtual_router_id " + std::to_string(vi.vrid) + " on " + vi.interface +
                            " is already used by instance '" + it->second + "'");
    for (auto& ref : vi.track_scripts) {
      bool found = std::any_of(cfg.track_scripts.begin(), cfg.track_scripts.end(),
                               [&](auto& s) { return s.name == ref.name; });
      if (!found)
        ctx.error(vi.pos, "instance '" + vi.name + "' tracks unknown track_script '" + ref.name + "'");
    }
    for (auto& ref : vi.track_files) {
      auto f = std::find_if(cfg.track_files.begin(), cfg.track_files.end(),
                            [&](auto& tf) { return tf.name == ref.name; });
      if (f == cfg.track_files.end()) {
        ctx.error(vi.pos, "instance '" + vi.name + "' tracks unknown track_file '" + ref.name + "'");
      } else if (vi.priority == 255 && ref.weight.value_or(f->weight) != 0) {
        // keepalived's rule: an address owner's priority never moves.
        ctx.error(vi.pos, "instance '" + vi.name + "' owns its addresses (priority 255): track_file '" +
                              ref.name + "' must have weight 0 (a non-zero value faults it)");
      }
    }
  }
  std::set<std::string> files, file_paths;
  for (auto& f : cfg.track_files) {
    if (!files.insert(f.name).second)
      ctx.error(f.pos, "duplicate track_file name '" + f.name + "'");
    if (!file_paths.insert(f.path).second)
      ctx.error(f.pos, "track_file '" + f.name + "': another track_file watches " + f.path);
  }
  std::set<std::string> scripts;
  for (auto& s : cfg.track_scripts)
    if (!scripts.insert(s.name).second)
      ctx.error(s.pos, "duplicate track_script name '" + s.name + "'");
  std::set<std::string> grouped;
  for (auto& g : cfg.sync_groups)
    for (auto& i : g.instances) {
      if (!names.count(i))
        ctx.error(g.pos, "sync_group '" + g.name + "' names unknown instance '" + i + "'");
      if (!grouped.insert(i).second)
        ctx.error(g.pos, "instance '" + i + "' is in more than one sync_group");
    }
  if (cfg.global.lvs_sync_daemon && !cfg.global.lvs_sync_daemon->vrrp_instance.empty() &&
      !names.count(cfg.global.lvs_sync_daemon->vrrp_instance))
    ctx.error(SourcePos{1, 1}, "lvs_sync_daemon names unknown vrrp_instance '" +
                                   cfg.global.lvs_sync_daemon->vrrp_instance + "'");
  if (cfg.global.conntrackd && !names.count(cfg.global.conntrackd->vrrp_instance))
    ctx.error(SourcePos{1, 1}, "conntrackd names unknown vrrp_instance '" +
                                   cfg.global.conntrackd->vrrp_instance + "'");
  std::map<std::string, SourcePos> vss;
  // dataplane = "nftables" (nftables/render.h): TCP/UDP services (IPv4, IPv6), NAT, rr/wrr/sh/dh/mh,
  // persistence, no thresholds, no one-packet scheduling, so far. Each refusal at its place.
  if (cfg.global.dataplane == Dataplane::nftables) {
    const std::string dp = " (dataplane = \"nftables\" does not have it yet; IPVS does)";
    for (auto& vs : cfg.virtual_servers) {
      const std::string who = "virtual server " + vs.key() + ": ";
      if (vs.fwmark) ctx.error(vs.pos, who + "fwmark services" + dp);
      if (vs.protocol == Protocol::sctp) ctx.error(vs.pos, who + "SCTP" + dp);
      if (vs.scheduler != ipvs::Scheduler::rr && vs.scheduler != ipvs::Scheduler::wrr &&
          vs.scheduler != ipvs::Scheduler::sh && vs.scheduler != ipvs::Scheduler::dh &&
          vs.scheduler != ipvs::Scheduler::mh)
        ctx.error(vs.pos, who + "scheduler " + std::string(ipvs::to_string(vs.scheduler)) +
                              "; rr, wrr, sh, dh and mh only" + dp);
      if (vs.scheduler_flags & ipvs::kShFallback)  // the same bit as mh-fallback
        ctx.error(vs.pos, who + (vs.scheduler == ipvs::Scheduler::mh ? "mh-fallback" : "sh-fallback") + dp);
      if (vs.one_packet) ctx.error(vs.pos, who + "one_packet" + dp);
      // The sorry server is forwarded as the virtual server says.
      if (vs.sorry_server && vs.forwarding != Forwarding::nat)
        ctx.error(vs.pos, who + "a sorry server with forwarding " + to_string(vs.forwarding) +
                              "; nat only" + dp);
      for (auto& r : vs.real_servers) {
        if (r.forwarding.value_or(vs.forwarding) != Forwarding::nat)
          ctx.error(r.pos, who + "forwarding " + to_string(r.forwarding.value_or(vs.forwarding)) +
                               "; nat only" + dp);
        if (r.upper_threshold || r.lower_threshold)
          ctx.error(r.pos, who + "connection thresholds" + dp);
      }
    }
  }
  for (auto& vs : cfg.virtual_servers) {
    auto [it, fresh] = vss.emplace(vs.key(), vs.pos);
    if (!fresh)
      ctx.error(vs.pos, "duplicate virtual server " + vs.key() + " (first defined at line " +
                            std::to_string(it->second.line) + ")");
  }
  // An address is announced one way: its virtual servers agree on announce.
  std::map<IpAddress, const VirtualServer*> first_on;
  for (auto& vs : cfg.virtual_servers) {
    if (!vs.address) continue;
    auto [it, fresh] = first_on.emplace(*vs.address, &vs);
    if (!fresh && it->second->announce != vs.announce)
      ctx.error(vs.pos, "virtual server " + vs.key() + " has announce = \"" + to_string(vs.announce) +
                            "\", but " + it->second->key() + " on the same address has \"" +
                            to_string(it->second->announce) + "\": an address is announced one way");
  }
  // One owner per address: a VRRP Master holds its VIPs, the anycast device holds the
  // announce = "bgp" addresses; both on one address would fight over it.
  for (auto& vs : cfg.virtual_servers) {
    if (vs.announce != Announce::bgp || !vs.address) continue;
    for (auto& vi : cfg.vrrp_instances) {
      bool held = false;
      for (auto* list : {&vi.vips, &vi.excluded_vips})
        for (auto& v : *list) held = held || v.prefix.address == *vs.address;
      if (held)
        ctx.error(vs.pos, "virtual server " + vs.key() + " has announce = \"bgp\", but " +
                              vs.address->str() + " is a VIP of vrrp_instance '" + vi.name +
                              "': an address is announced one way, not both");
    }
  }
  // Behind ECMP a director change moves flows between directors: the connection sync
  // carries them, running both ways on every director. Said once, at the first such server.
  for (auto& vs : cfg.virtual_servers) {
    if (vs.announce == Announce::bgp && cfg.global.dataplane == Dataplane::none) {
      ctx.warn(vs.pos, "announce = \"bgp\" with dataplane = \"none\": the address is announced "
                       "while its real servers are healthy, but nothing here forwards to them");
      break;
    }
    if (vs.announce != Announce::bgp || cfg.global.dataplane != Dataplane::kernel) continue;
    const auto& sd = cfg.global.lvs_sync_daemon;
    if (!sd)
      ctx.warn(vs.pos, "announce = \"bgp\" without [global.lvs_sync_daemon]: a flow that ECMP "
                       "moves to another director keeps its connection only where the scheduler "
                       "picks the same real server; set lvs_sync_daemon (without vrrp_instance: "
                       "every director sends and receives) to carry the rest");
    else if (!sd->vrrp_instance.empty())
      ctx.warn(vs.pos, "announce = \"bgp\" with lvs_sync_daemon following vrrp_instance '" +
                           sd->vrrp_instance + "': its master role runs only once that instance "
                           "is MASTER, but every director forwards; leave vrrp_instance out");
    break;
  }
  for (auto& vi : cfg.vrrp_instances)
    for (auto& r : vi.track_virtual_servers)
      if (!vss.count(r.service))
        ctx.error(vi.pos, "instance '" + vi.name + "' tracks unknown virtual server '" + r.service +
                              "' (write it as \"tcp 192.0.2.1:80\" or \"fwmark 7 inet\")");
}


}  // namespace hd::config
