// SPDX-License-Identifier: GPL-2.0-or-later
#include "migrate/keepalived_import.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <tuple>

#include "core/text.h"
#include "daemon/config/writer.h"
#include "migrate/import_context.h"

namespace hd::migrate::keepalived {
namespace detail {

std::optional<long> Ctx::integer(const Node& n, long lo, long hi, size_t i) {
  if (i >= n.args.size()) {
    bad(n, "a value is missing", "ignored");
    return std::nullopt;
  }
  const std::string& s = n.args[i];
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || v < lo || v > hi) {
    bad(n, "'" + s + "' is not a whole number from " + std::to_string(lo) + " to " +
               std::to_string(hi),
        "ignored");
    return std::nullopt;
  }
  return v;
}

std::optional<Duration> Ctx::seconds(const Node& n, Duration lo, Duration hi, size_t i) {
  if (i >= n.args.size()) {
    bad(n, "a value is missing", "ignored");
    return std::nullopt;
  }
  const std::string& s = n.args[i];
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v) || v < 0 || v > 1e7) {
    bad(n, "'" + s + "' is not a number of seconds", "ignored");
    return std::nullopt;
  }
  auto d = std::chrono::duration_cast<Duration>(
      std::chrono::microseconds(std::llround(v * 1e6)));
  if (d < lo || d > hi) {
    bad(n, "'" + s + "' s is out of range (" + config::duration_text(lo) + " to " +
               config::duration_text(hi) + ")",
        "ignored");
    return std::nullopt;
  }
  return d;
}

std::optional<IpAddress> Ctx::address(const Node& n, size_t i) {
  if (i >= n.args.size()) {
    bad(n, "an address is missing", "ignored");
    return std::nullopt;
  }
  std::string s = n.args[i];
  // unicast_src_ip 10.0.0.1/24 (corpus 10): keepalived takes the address and drops the length.
  if (auto slash = s.find('/'); slash != std::string::npos) s.resize(slash);
  auto a = IpAddress::parse(s);
  if (!a) bad(n, "'" + n.args[i] + "' is not an IP address", "ignored");
  return a;
}

namespace {
bool shell_syntax(const std::string& s) {
  return s.find_first_of("|&;<>`$*?") != std::string::npos;
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::string w;
  bool in_word = false;
  char quote = 0;
  for (char c : s) {
    if (quote) {
      if (c == quote) quote = 0;
      else w += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
      continue;
    }
    if (c == ' ' || c == '\t') {
      if (in_word) out.push_back(std::move(w));
      w.clear();
      in_word = false;
      continue;
    }
    w += c;
    in_word = true;
  }
  if (in_word) out.push_back(std::move(w));
  return out;
}
}  // namespace

std::optional<std::vector<std::string>> Ctx::command(const Node& n, size_t first) {
  std::string line;
  for (size_t i = first; i < n.args.size(); ++i) line += (line.empty() ? "" : " ") + n.args[i];
  auto words = split_words(line);
  if (words.empty()) {
    bad(n, "the command is missing", "ignored");
    return std::nullopt;
  }
  if (shell_syntax(line)) {
    note(n.pos, n.keyword + ": '" + line +
                    "' uses shell syntax: run as /bin/sh -c (hadirector runs commands without "
                    "a shell otherwise)");
    return std::vector<std::string>{"/bin/sh", "-c", line};
  }
  if (words[0].empty()) {
    bad(n, "the command's first word is empty", "ignored");
    return std::nullopt;
  }
  if (words[0].front() != '/') words.insert(words.begin(), "/usr/bin/env");
  return words;
}

void ignore_rest(Ctx& ctx, const Node& n, const std::set<std::string>& known) {
  for (auto& c : n.children)
    if (!known.contains(c.keyword))
      ctx.warn(c.pos, c.keyword + " not supported in " + n.keyword + ": ignored");
}

namespace {

// Text for a TOML comment: control characters and bytes that are not UTF-8 as \xNN.
std::string comment_text(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
      if (n && i + n <= s.size() && valid_utf8(s.substr(i, n))) {
        out += s.substr(i, n);
        i += n - 1;
        continue;
      }
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f || c >= 0x80) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// A line whose words are not UTF-8 cannot be written as TOML: dropped, with a warning.
std::vector<Node> utf8_only(const std::vector<Node>& in, detail::Ctx& ctx) {
  std::vector<Node> out;
  for (auto& n : in) {
    bool ok = valid_utf8(n.keyword);
    for (auto& a : n.args) ok = ok && valid_utf8(a);
    if (!ok) {
      ctx.warn(n.pos, "'" + n.keyword + "' line is not valid UTF-8 (TOML cannot hold it): "
                      "ignored" + (n.block ? " with its block" : ""));
      continue;
    }
    Node copy{n.pos, n.keyword, n.args, n.block, utf8_only(n.children, ctx)};
    out.push_back(std::move(copy));
  }
  return out;
}

}  // namespace

}  // namespace detail

size_t Imported::warnings() const {
  return static_cast<size_t>(std::count_if(diagnostics.begin(), diagnostics.end(), [](auto& d) {
    return d.severity == Severity::warning;
  }));
}

Imported import_tree(const Tree& tree, const std::string& source, const ImportOptions& o) {
  using namespace detail;
  Imported out;
  out.source = source;
  out.config.source = source;
  out.diagnostics = tree.diagnostics;
  Ctx ctx(out);
  const std::vector<Node> top = utf8_only(tree.top, ctx);
  // global_defs and the virtual server groups first: keepalived resolves them wherever
  // they stand in the file.
  VsGroups groups;
  for (auto& n : top) {
    if (n.keyword == "global_defs") map_global(ctx, n);
    if (n.keyword == "virtual_server_group") map_vs_group(ctx, n, groups);
    // Track files too: FILE_CHECKs and instances name them wherever they stand.
    if (n.keyword == "track_file" || n.keyword == "vrrp_track_file") map_track_file(ctx, n);
  }
  static const std::set<std::string> kIgnoredSections = {
      "static_ipaddress", "static_routes", "static_rules", "vrrp_track_process",
      "linkbeat_interfaces", "bfd_instance",
      "net_namespace", "net_namespace_ipvs", "instance", "garp_group", "use_pid_dir",
      "child_wait_time", "namespace_with_ipsets", "track_process"};
  for (auto& n : top) {
    const std::string& k = n.keyword;
    if (k == "global_defs" || k == "virtual_server_group" || k == "track_file" ||
        k == "vrrp_track_file")
      continue;
    if (o.lvs_only && (k == "vrrp_script" || k == "vrrp_instance" || k == "vrrp_sync_group"))
      continue;
    if (k == "vrrp_script") map_vrrp_script(ctx, n);
    else if (k == "vrrp_instance") map_vrrp_instance(ctx, n);
    else if (k == "vrrp_sync_group") map_sync_group(ctx, n);
    else if (k == "virtual_server") map_virtual_server(ctx, n, groups);
    else if (kIgnoredSections.contains(k)) ctx.unsupported(n, "ignored");
    else
      ctx.warn(n.pos, "unknown keyword '" + k + "'" +
                          (n.block ? " (with its block)" : "") + ": ignored, as keepalived does");
  }
  if (o.lvs_only) {
    // What global_defs set for VRRP goes with it (its diagnostics stay: they are global's).
    out.config.global.vrrp_realtime = false;
    out.config.global.vrrp_rt_priority = config::Global{}.vrrp_rt_priority;
    out.config.global.vrrp_cpu_affinity.clear();
  } else {
    finish_vrrp(ctx);
  }
  // A [[track_file]] is for instances (a FILE_CHECK holds its path): those no instance
  // tracks are left out, as keepalived reads a file only when something tracks it.
  {
    auto& cfg = out.config;
    std::vector<Pos> kept_from;
    std::vector<config::TrackFile> kept;
    for (size_t i = 0; i < cfg.track_files.size(); ++i) {
      bool tracked = std::any_of(cfg.vrrp_instances.begin(), cfg.vrrp_instances.end(), [&](auto& vi) {
        return std::any_of(vi.track_files.begin(), vi.track_files.end(),
                           [&](auto& r) { return r.name == cfg.track_files[i].name; });
      });
      if (!tracked) continue;
      kept.push_back(cfg.track_files[i]);
      kept_from.push_back(out.file_from[i]);
    }
    cfg.track_files = std::move(kept);
    out.file_from = std::move(kept_from);
  }
  std::stable_sort(out.diagnostics.begin(), out.diagnostics.end(), [](auto& a, auto& b) {
    return std::tie(a.pos.file, a.pos.line) < std::tie(b.pos.file, b.pos.line);
  });
  return out;
}

Imported import_file(const std::string& path, Files& files, const ReadOptions& options,
                     const ImportOptions& o) {
  auto r = read(path, files, options);
  auto tree = build_tree(r.lines);
  auto out = import_tree(tree, path, o);
  out.diagnostics.insert(out.diagnostics.begin(), r.diagnostics.begin(), r.diagnostics.end());
  return out;
}

std::string to_toml(const Imported& im) {
  std::ostringstream os;
  os << "# Imported from " << detail::comment_text(im.source) << " by `hadirector import-keepalived`.\n";
  const size_t warnings = im.warnings(), notes = im.diagnostics.size() - warnings;
  if (im.diagnostics.empty()) {
    os << "# Everything in it was carried over.\n";
  } else {
    os << "# " << warnings << " warning(s): not carried over; " << notes
       << " note(s): carried over, behaving differently:\n";
    for (auto& d : im.diagnostics) os << "#   " << detail::comment_text(d.str()) << "\n";
  }
  os << "\n";
  auto from = [](const Pos& p) {
    return "# from " + detail::comment_text(p.file) + ":" + std::to_string(p.line);
  };
  std::istringstream body(config::to_toml(im.config));
  size_t vi = 0, ts = 0, tf = 0, sg = 0, vs = 0, rs = 0;
  for (std::string line; std::getline(body, line);) {
    const auto start = line.find_first_not_of(' ');
    const std::string indent = start == std::string::npos ? "" : line.substr(0, start);
    const std::string t = start == std::string::npos ? "" : line.substr(start);
    if (t == "[[vrrp_instance]]" && vi < im.instance_from.size())
      os << indent << from(im.instance_from[vi++]) << "\n";
    else if (t == "[[track_script]]" && ts < im.script_from.size())
      os << indent << from(im.script_from[ts++]) << "\n";
    else if (t == "[[track_file]]" && tf < im.file_from.size())
      os << indent << from(im.file_from[tf++]) << "\n";
    else if (t == "[[sync_group]]" && sg < im.group_from.size())
      os << indent << from(im.group_from[sg++]) << "\n";
    else if (t == "[[virtual_server]]" && vs < im.vs_from.size()) {
      os << indent << from(im.vs_from[vs++]) << "\n";
      rs = 0;
    } else if (t == "[[virtual_server.real_server]]" && vs > 0 &&
               rs < im.rs_from[vs - 1].size())
      os << indent << from(im.rs_from[vs - 1][rs++]) << "\n";
    // keepalived.conf without router_id: keepalived takes the host name, and so does
    // hadirector when the key is absent (the writer keeps an empty one as "").
    if (t == "router_id = \"\"") continue;
    os << line << "\n";
  }
  return os.str();
}

}  // namespace hd::migrate::keepalived
