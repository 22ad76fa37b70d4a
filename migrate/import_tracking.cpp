// SPDX-License-Identifier: GPL-2.0-or-later
// keepalived's tracking -> hadirector's: track_file definitions ([[track_file]]), the
// track_interface / track_script / track_file references of instances and sync groups,
// and what a sync group does to its members' tracking (share_group_tracking).
#include <algorithm>
#include <climits>
#include <stdexcept>

#include "core/text.h"
#include "migrate/import_context.h"

namespace hd::migrate::keepalived::detail {

using config::VrrpInstance;

std::string group_owner(const std::string& group) { return "sync group " + group; }

// track_file NAME { file PATH; weight W [reverse]; init_file [VALUE] [overwrite] } (and its
// old name vrrp_track_file) -> [[track_file]]. keepalived's weight defaults to 1 (value x 1
// added to the priority); hadirector's to 0 (fault): written explicitly.
void map_track_file(Ctx& ctx, const Node& n) {
  auto& cfg = ctx.out().config;
  if (!ctx.new_definition(n, "track file", [&](const std::string& name) {
        return std::any_of(cfg.track_files.begin(), cfg.track_files.end(),
                           [&](auto& f) { return f.name == name; });
      }))
    return;
  config::TrackFile f;
  f.name = n.args[0];
  f.weight = 1;
  ctx.file_weight[f.name] = 1;
  for (auto& c : n.children) {
    const std::string& k = c.keyword;
    if (k == "file") {
      if (c.args.empty() || !is_absolute_file_path(c.args[0]))
        ctx.bad(c, "not an absolute path to a file", "ignored");
      else
        f.path = c.args[0];
    } else if (k == "weight") {
      if (auto v = ctx.integer(c, -2147483647, 2147483647)) {
        long w = *v;
        if (c.args.size() > 1 && c.args[1] == "reverse") {
          ctx.reversed.insert("file " + f.name);
          if (w == 0) {
            ctx.warn(c.pos, "weight 0 reverse (a fault while the file reads 0) not supported: "
                            "weight 0 (a fault while it reads anything else)");
          }
          w = -w;
        }
        ctx.file_weight[f.name] = w;
        if (w < -254 || w > 254) {
          long cut = std::clamp(w, -254L, 254L);
          ctx.note(c.pos, "track_file " + f.name + ": weight " + std::to_string(w) + " cut to " +
                              std::to_string(cut) + " (any value but 0 moves a priority to its "
                              "bound or faults the instance either way)");
          w = cut;
        }
        f.weight = static_cast<int>(w);
      }
    } else if (k == "init_file") {
      f.init = 0;
      for (auto& a : c.args) {
        if (a == "overwrite") {
          f.init_overwrite = true;
        } else {
          try {
            size_t used = 0;
            long long v = std::stoll(a, &used, 10);
            if (used != a.size() || v < INT32_MIN || v > INT32_MAX) throw std::out_of_range(a);
            f.init = v;
          } catch (const std::exception&) {
            ctx.bad(c, "'" + a + "' is not a 32-bit integer", "0 written instead");
          }
        }
      }
    } else {
      ctx.warn(c.pos, k + " not supported in " + n.keyword + ": ignored");
    }
  }
  if (f.path.empty()) {
    ctx.warn(n.pos, n.keyword + " " + f.name + " has no file: ignored");
    return;
  }
  for (auto& other : cfg.track_files)
    if (other.path == f.path) {
      ctx.warn(n.pos, n.keyword + " " + f.name + ": " + f.path + " is track_file " + other.name +
                          "'s too: ignored (instances tracking it track " + other.name +
                          " with " + f.name + "'s weight)");
      ctx.file_alias[f.name] = other.name;
      return;
    }
  cfg.track_files.push_back(std::move(f));
  ctx.out().file_from.push_back(n.pos);
}

// The children of a track_interface, track_script or track_file block, in an instance or
// a vrrp_sync_group (OWNER names it in ctx.track_ref_pos).
void read_track_interfaces(Ctx& ctx, const Node& c, const std::string& owner,
                           std::vector<std::string>& out) {
  for (auto& t : c.children) {
    out.push_back(t.keyword);
    ctx.track_ref_pos.emplace(owner + " interface " + t.keyword, t.pos);
    if (!t.args.empty() && t.args[0] == "weight")
      ctx.warn(t.pos, "track_interface weight not supported: the interface going down "
                      "puts the instance in FAULT");
    else
      for (auto& more : t.args) out.push_back(more);  // { eth0 eth1 }
  }
}

void read_track_scripts(Ctx& ctx, const Node& c, const std::string& owner,
                        std::vector<config::TrackScriptRef>& out) {
  for (auto& t : c.children) {
    config::TrackScriptRef r{t.keyword, std::nullopt};
    ctx.track_ref_pos.emplace(owner + " " + t.keyword, t.pos);
    for (auto& more : t.args) ctx.track_ref_pos.emplace(owner + " " + more, t.pos);
    if (t.args.size() >= 2 && t.args[0] == "weight") {
      if (auto v = ctx.integer(t, -254, 254, 1)) r.weight = static_cast<int>(*v);
      if (t.args.size() > 2 && t.args[2] == "reverse")
        ctx.warn(t.pos, "weight ... reverse not supported: applied without reverse");
      out.push_back(r);
    } else {
      out.push_back(r);
      for (auto& more : t.args) out.push_back({more, std::nullopt});  // { a b }
    }
  }
}

void read_track_files(Ctx& ctx, const Node& c, const std::string& owner,
                      std::vector<config::TrackFileRef>& out) {
  for (auto& t : c.children) {
    config::TrackFileRef r{t.keyword, std::nullopt};
    ctx.track_ref_pos.emplace(owner + " file " + t.keyword, t.pos);
    if (t.args.size() >= 2 && t.args[0] == "weight") {
      if (auto v = ctx.integer(t, -254, 254, 1)) {
        r.weight = static_cast<int>(*v);
        if (t.args.size() > 2 && t.args[2] == "reverse") {
          ctx.reversed.insert(owner + " file " + t.keyword);
          if (*v == 0)
            ctx.warn(t.pos, "track_file " + t.keyword + ": weight 0 reverse (a fault while "
                            "the file reads 0) not supported: weight 0 (a fault while it "
                            "reads anything else)");
          r.weight = -*r.weight;
        }
      }
    } else if (!t.args.empty()) {
      ctx.warn(t.pos, "track_file " + t.keyword + ": '" + t.args[0] + "' not supported: ignored");
    }
    out.push_back(r);
  }
}

// Sync groups' tracking, once the members are known. keepalived 2.2.7 ignores a member's
// weighted tracking unless the group sets sync_group_tracking_weight (its log: "(VI_1)
// ignoring tracked script chk with weights due to SYNC group"), so the import leaves it out
// too; weight 0 stays (a fault faults the group), and a track_file's weight 1 becomes 0. The group's own track_* apply to every
// member, weights included (keepalived's dump: "Tracking instances: VI_1, weight 3; VI_2,
// weight 3"): hadirector's members share tracking (every member runs with the sum of all
// members' changes, one member's fault faults them all), so each item goes to one member,
// one that does not track it itself (a member's own reference wins in keepalived: the
// difference that makes for a positive script weight is warned). A group's weighted file
// with an address owner among the members is tracked with weight 0, as keepalived does.
void share_group_tracking(Ctx& ctx) {
  auto& out = ctx.out();
  auto& cfg = out.config;
  auto instance = [&](const std::string& name) -> VrrpInstance& {
    return *std::find_if(cfg.vrrp_instances.begin(), cfg.vrrp_instances.end(),
                         [&](auto& i) { return i.name == name; });
  };
  auto script = [&](const std::string& name) -> const config::TrackScript* {
    for (auto& t : cfg.track_scripts)
      if (t.name == name) return &t;
    return nullptr;
  };
  auto file = [&](const std::string& name) -> const config::TrackFile* {
    for (auto& t : cfg.track_files)
      if (t.name == name) return &t;
    return nullptr;
  };
  auto ref_pos = [&](const std::string& key, const Pos& otherwise) {
    auto at = ctx.track_ref_pos.find(key);
    return at != ctx.track_ref_pos.end() ? at->second : otherwise;
  };
  for (size_t gi = 0; gi < cfg.sync_groups.size(); ++gi) {
    auto& g = cfg.sync_groups[gi];
    const Pos& gpos = out.group_from[gi];
    if (!ctx.group_tracking_weight.count(g.name)) {
      for (auto& m : g.instances) {
        auto& vi = instance(m);
        auto ignored = [&](const std::string& what, const std::string& name, int w,
                           const Pos& at) {
          ctx.warn(at, "vrrp_instance " + m + ": " + what + " " + name + " (weight " +
                           std::to_string(w) + ") not tracked: " + m + " is in vrrp_sync_group " +
                           g.name + ", where keepalived ignores weighted tracking (unless the "
                           "group sets sync_group_tracking_weight); weight 0 would fault the group");
        };
        std::erase_if(vi.track_scripts, [&](auto& r) {
          const config::TrackScript* t = script(r.name);
          int w = r.weight.value_or(t ? t->weight : 0);
          if (w == 0) return false;
          ignored("track_script", r.name, w, ref_pos(m + " " + r.name, gpos));
          return true;
        });
        // A file's weight 1 (keepalived's default) becomes 0 instead: "(A) ignoring weight
        // from tracked file tf due to SYNC group. specify weight 0"; any other is left out.
        std::erase_if(vi.track_files, [&](auto& r) {
          const config::TrackFile* t = file(r.name);
          int w = r.weight.value_or(t ? t->weight : 0);
          if (w == 0) return false;
          const Pos at = ref_pos(m + " file " + r.name, gpos);
          const bool reverse = ctx.reversed.count(r.weight ? m + " file " + r.name : "file " + r.name) > 0;
          if (w == -1 && reverse) {  // "1 reverse": keepalived's weight 0 reverse
            ctx.warn(at, "vrrp_instance " + m + ": track_file " + r.name + " not tracked: " + m +
                             " is in vrrp_sync_group " + g.name + ", where keepalived tracks its "
                             "weight 1 reverse as 0 reverse (a fault while the file reads 0), "
                             "which hadirector has not");
            return true;
          }
          if (w == 1) {
            ctx.note(at, "vrrp_instance " + m + ": track_file " + r.name + " tracked with weight 0 "
                         "(a value other than 0 faults the group): " + m + " is in vrrp_sync_group " +
                         g.name + ", where keepalived reads its weight 1 so");
            r.weight = 0;
            return false;
          }
          ignored("track_file", r.name, w, at);
          return true;
        });
      }
    }
    auto gt = ctx.group_tracks.find(g.name);
    if (gt == ctx.group_tracks.end()) continue;
    // Each item to the first member that does not track it itself (`tracks`); a member that
    // does keeps its own reference, as in keepalived ("configured on VRRP instance and sync
    // group. Remove vrrp instance config").
    auto place = [&](const std::string& what, const std::string& name, const Pos& at,
                     auto&& tracks, auto&& add) -> std::vector<std::string> {
      std::vector<std::string> own;
      for (auto& m : g.instances)
        if (tracks(instance(m))) own.push_back(m);
      if (own.size() == g.instances.size()) {
        ctx.note(at, "vrrp_sync_group " + g.name + ": " + what + " " + name +
                         ": every member tracks it itself, whose reference keepalived uses too: "
                         "nothing to add");
        return own;
      }
      for (auto& m : g.instances)
        if (!tracks(instance(m))) {
          add(instance(m));
          ctx.note(at, "vrrp_sync_group " + g.name + ": " + what + " " + name + " tracked by " +
                           m + " (hadirector's sync group members share their tracking: "
                           "the whole group follows it, as keepalived's)");
          break;
        }
      return own;
    };
    // A track_script or track_file reference (REFS), to the first member with none of its
    // name; KEY: how ctx.track_ref_pos spells it after the member's name.
    auto place_ref = [&](const std::string& what, const std::string& shown, const Pos& at,
                         std::vector<config::TrackRef> VrrpInstance::*refs, const std::string& key,
                         const config::TrackRef& r) {
      return place(what, shown, at,
                   [&](const VrrpInstance& vi) {
                     return std::any_of((vi.*refs).begin(), (vi.*refs).end(),
                                        [&](auto& o) { return o.name == r.name; });
                   },
                   [&](VrrpInstance& vi) {
                     ctx.track_ref_pos.emplace(vi.name + key + r.name, at);
                     (vi.*refs).push_back(r);
                   });
    };
    for (auto& ifname : gt->second.interfaces)
      place("track_interface", ifname, ref_pos(group_owner(g.name) + " interface " + ifname, gpos),
            [&](const VrrpInstance& vi) {
              return vi.interface == ifname ||
                     std::find(vi.track_interfaces.begin(), vi.track_interfaces.end(), ifname) !=
                         vi.track_interfaces.end();
            },
            [&](VrrpInstance& vi) { vi.track_interfaces.push_back(ifname); });
    for (auto r : gt->second.scripts) {
      const Pos at = ref_pos(group_owner(g.name) + " " + r.name, gpos);
      const config::TrackScript* t = script(r.name);
      if (!t) {
        ctx.warn(at, "vrrp_sync_group " + g.name + ": track_script " + r.name +
                         " not supported: no such vrrp_script: not tracked (keepalived ignores it too)");
        continue;
      }
      auto own = place_ref("track_script", r.name, at, &VrrpInstance::track_scripts, " ", r);
      // keepalived: the members tracking it themselves move by their own weight (0 in a
      // group), the others by the group's; hadirector's members all move by the sum.
      const int w = r.weight.value_or(t->weight);
      if (w > 0 && !own.empty() && own.size() < g.instances.size())
        ctx.warn(at, "vrrp_sync_group " + g.name + ": track_script " + r.name + " (weight " +
                         std::to_string(w) + "): " + own.front() + " tracks it itself, which in "
                         "keepalived keeps " + own.front() + "'s priority from moving by it; in "
                         "hadirector every member moves by " + std::to_string(w) +
                         " while it succeeds");
    }
    const bool owner_member = std::any_of(g.instances.begin(), g.instances.end(),
                                          [&](auto& m) { return instance(m).priority == 255; });
    for (auto r : gt->second.files) {
      const Pos at = ref_pos(group_owner(g.name) + " file " + r.name, gpos);
      std::string shown = r.name;
      if (auto a = ctx.file_alias.find(r.name); a != ctx.file_alias.end()) {
        if (!r.weight) r.weight = static_cast<int>(std::clamp(ctx.file_weight[r.name], -254L, 254L));
        r.name = a->second;
        shown += " (as " + r.name + ")";
      }
      const config::TrackFile* t = file(r.name);
      if (!t) {
        ctx.warn(at, "vrrp_sync_group " + g.name + ": track_file " + shown +
                         " not supported: no such track_file: not tracked (keepalived ignores it too)");
        continue;
      }
      if (owner_member && r.weight.value_or(t->weight) != 0) {
        ctx.note(at, "vrrp_sync_group " + g.name + ": track_file " + shown + " tracked with "
                         "weight 0 (a value other than 0 faults the group): a member owns its "
                         "addresses (priority 255), and keepalived says \"Cannot have weighted "
                         "track file with member having priority 255 - setting weight 0\"");
        r.weight = 0;
      }
      place_ref("track_file", shown, at, &VrrpInstance::track_files, " file ", r);
    }
  }
}

}  // namespace hd::migrate::keepalived::detail
