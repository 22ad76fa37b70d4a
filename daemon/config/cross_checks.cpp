// SPDX-License-Identifier: GPL-2.0-or-later
// Checks across sections: names, VRIDs, sync groups, tracked scripts and virtual servers.
#include "daemon/config/sections.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace hd::config {
void cross_checks(Ctx& ctx, Config& cfg) {
  std::map<std::string, SourcePos> names;
  std::map<std::tuple<std::string, Family, int>, std::string> vrids;
  for (auto& vi : cfg.vrrp_instances) {
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
  if (cfg.global.lvs_sync_daemon && !names.count(cfg.global.lvs_sync_daemon->vrrp_instance))
    ctx.error(SourcePos{1, 1}, "lvs_sync_daemon names unknown vrrp_instance '" +
                                   cfg.global.lvs_sync_daemon->vrrp_instance + "'");
  std::map<std::string, SourcePos> vss;
  for (auto& vs : cfg.virtual_servers) {
    auto [it, fresh] = vss.emplace(vs.key(), vs.pos);
    if (!fresh)
      ctx.error(vs.pos, "duplicate virtual server " + vs.key() + " (first defined at line " +
                            std::to_string(it->second.line) + ")");
  }
  for (auto& vi : cfg.vrrp_instances)
    for (auto& r : vi.track_virtual_servers)
      if (!vss.count(r.service))
        ctx.error(vi.pos, "instance '" + vi.name + "' tracks unknown virtual server '" + r.service +
                              "' (write it as \"tcp 192.0.2.1:80\" or \"fwmark 7 inet\")");
}


}  // namespace hd::config
