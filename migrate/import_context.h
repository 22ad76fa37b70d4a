// SPDX-License-Identifier: GPL-2.0-or-later
// What the importer's section mappers share (internal to migrate/): diagnostics with the
// node's position, keepalived's value syntaxes (integers, decimal seconds, commands), and
// the state one section leaves for another (global defaults, script names).
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/config/writer.h"
#include "migrate/keepalived_import.h"

namespace hd::migrate::keepalived::detail {

// global_defs values that other sections default to.
struct Defaults {
  int vrrp_version = 2;  // keepalived's default VRRP version (hadirector's is 3)
  std::optional<int> garp_count;
  std::optional<Duration> garp_second_burst, garp_refresh, garp_spacing, gna_spacing;
  std::optional<std::string> lvs_sync_interface, lvs_sync_instance;
  std::optional<int> lvs_sync_id, lvs_sync_maxlen;
  Pos lvs_sync_pos;
};

class Ctx {
 public:
  explicit Ctx(Imported& out) : out_(out) {}
  Imported& out() { return out_; }
  Defaults defaults;
  // Where each instance's track_script reference stood ("INSTANCE SCRIPT"), for finish_vrrp.
  std::map<std::string, Pos> track_ref_pos;
  // A track_file that watches another one's file -> that one's name.
  std::map<std::string, std::string> file_alias;
  // Every track_file's own weight (keepalived's default 1, reverse applied), before the
  // cut to +-254 that the [[track_file]] gets: a FILE_CHECK multiplies a weight to 65535,
  // and an alias's trackers keep its weight.
  std::map<std::string, long> file_weight;
  // A vrrp_sync_group's own tracking, which keepalived applies to every member (weights
  // included); finish_vrrp hands each item to one member (hadirector's groups share it).
  struct GroupTracks {
    std::vector<std::string> interfaces;
    std::vector<config::TrackScriptRef> scripts;
    std::vector<config::TrackFileRef> files;
  };
  std::map<std::string, GroupTracks> group_tracks;
  // Groups with sync_group_tracking_weight (or its old name global_tracking): their members'
  // weighted tracking counts; in any other group keepalived ignores it.
  std::set<std::string> group_tracking_weight;
  // Track file weights given with `reverse` (already negated): "file NAME" for a
  // definition, "OWNER file NAME" for a reference.
  std::set<std::string> reversed;

  // "KEYWORD not supported: INSTEAD"
  void unsupported(const Node& n, const std::string& instead) {
    warn(n.pos, n.keyword + " not supported: " + instead);
  }
  void warn(const Pos& pos, const std::string& msg) {
    out_.diagnostics.push_back({pos, msg, Severity::warning});
  }
  void note(const Pos& pos, const std::string& msg) {
    out_.diagnostics.push_back({pos, msg, Severity::note});
  }
  // A definition by name (`KEYWORD NAME { ... }`): true when it has a name `defined` does not
  // know yet; else a warning and false (keepalived too skips a nameless one and uses the
  // first of two with one name). `what` names it in "the WHAT has no name".
  bool new_definition(const Node& n, const std::string& what,
                      const std::function<bool(const std::string&)>& defined) {
    if (n.args.empty()) {
      bad(n, "the " + what + " has no name", "ignored");
      return false;
    }
    if (defined(n.args[0])) {
      warn(n.pos, n.keyword + " " + n.args[0] + " defined again: the first one is used");
      return false;
    }
    return true;
  }
  // A value keepalived would refuse (and skip) too: "KEYWORD: bad value 'X' (WHY): INSTEAD".
  void bad(const Node& n, const std::string& why, const std::string& instead) {
    warn(n.pos, n.keyword + ": " + why + ": " + instead);
  }

  // The argument at `i` as an integer in [lo, hi]; a diagnostic and nullopt otherwise.
  std::optional<long> integer(const Node& n, long lo, long hi, size_t i = 0);
  // keepalived's decimal seconds ("1", "0.5", "1.25") in [lo, hi].
  std::optional<Duration> seconds(const Node& n, Duration lo, Duration hi, size_t i = 0);
  std::optional<IpAddress> address(const Node& n, size_t i = 0);
  // The arguments as one command line, split as keepalived splits a script (blanks, with
  // '...' and "..." quoting) into an argv hadirector can run: a bare program name is
  // looked up at run time through /usr/bin/env (as keepalived searches PATH); a line with
  // shell syntax (| & ; < > $ `) runs under /bin/sh -c, with a note.
  std::optional<std::vector<std::string>> command(const Node& n, size_t first = 0);

 private:
  Imported& out_;
};

// The child keywords no mapper knows: one warning each, "not supported: ignored".
void ignore_rest(Ctx& ctx, const Node& n, const std::set<std::string>& known);

void map_global(Ctx& ctx, const Node& n);
void map_vrrp_script(Ctx& ctx, const Node& n);
void map_vrrp_instance(Ctx& ctx, const Node& n);
void map_sync_group(Ctx& ctx, const Node& n);
void map_track_file(Ctx& ctx, const Node& n);
// The children of a track_interface, track_script or track_file block, in an instance or a
// sync group (OWNER: the instance's name, or group_owner(); it keys ctx.track_ref_pos).
void read_track_interfaces(Ctx& ctx, const Node& c, const std::string& owner,
                           std::vector<std::string>& out);
void read_track_scripts(Ctx& ctx, const Node& c, const std::string& owner,
                        std::vector<config::TrackScriptRef>& out);
void read_track_files(Ctx& ctx, const Node& c, const std::string& owner,
                      std::vector<config::TrackFileRef>& out);
// ctx.track_ref_pos's owner for a vrrp_sync_group's own tracking: "sync group NAME".
std::string group_owner(const std::string& group);
// Once the groups' members are final: a member's tracking as keepalived runs it in a group,
// and the group's own tracking handed to its members.
void share_group_tracking(Ctx& ctx);
// After every section is read: references to scripts and instances that do not exist are
// dropped (as keepalived drops them), the sync daemon is placed, duplicates are resolved.
void finish_vrrp(Ctx& ctx);

// Checker timing as keepalived inherits it: virtual_server, then real_server, then checker.
struct Timing {
  Duration delay_loop = std::chrono::seconds(60);      // keepalived's default
  Duration connect_timeout = std::chrono::seconds(5);  // keepalived's default
  std::optional<int> retry;  // default per checker (1; MISC_CHECK 0; DNS_CHECK 3)
  std::optional<Duration> delay_before_retry;
  bool alpha = false;
};
// delay_loop, connect_timeout, retry/nb_get_retry, delay_before_retry, warmup, alpha into
// `t`; false for any other keyword (import_checkers.cpp).
bool timing_keyword(Ctx& ctx, const Node& c, Timing& t);
bool is_checker(const std::string& keyword);  // TCP_CHECK, HTTP_GET, ... BFD_CHECK
// One checker block -> a check, or nullopt (not supported, said). `host`: the virtualhost
// of the real server or else the virtual server.
std::optional<config::Check> map_checker(Ctx& ctx, const Node& n, Timing t,
                                         const std::string& host);

struct VsGroup {
  Pos pos;
  struct Member {
    Pos pos;
    std::optional<IpAddress> address;
    int port = 0;
    uint32_t fwmark = 0;
  };
  std::vector<Member> members;
};
using VsGroups = std::map<std::string, VsGroup>;
void map_vs_group(Ctx& ctx, const Node& n, VsGroups& groups);
void map_virtual_server(Ctx& ctx, const Node& n, const VsGroups& groups);

}  // namespace hd::migrate::keepalived::detail
