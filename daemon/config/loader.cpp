// SPDX-License-Identifier: GPL-2.0-or-later
// The loader: parse the TOML, read the sections (sections.h) in order, then the
// cross-references; errors sorted by position.
#include "daemon/config/loader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "daemon/config/sections.h"

namespace hd::config {

std::string Error::str() const {
  std::ostringstream os;
  os << file << ":" << line << ":" << column << ": error: " << message;
  return os.str();
}


LoadResult load_string(std::string_view text, const std::string& source_name) {
  LoadResult result;
  Ctx ctx(source_name, result.errors);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    result.errors.push_back(Error{source_name, static_cast<int>(e.source().begin.line),
                                  static_cast<int>(e.source().begin.column),
                                  std::string(e.description())});
    return result;
  }
  Config cfg;
  cfg.source = source_name;
  Table top(ctx, root, "the top level");
  load_global(top, cfg);
  each_table(top, "vrrp_instance", "[[vrrp_instance]]", [&](const toml::table& t, int) {
    Table it(ctx, t, "[[vrrp_instance]]");
    if (auto vi = load_vrrp(it)) cfg.vrrp_instances.push_back(*vi);
  });
  each_table(top, "track_script", "[[track_script]]", [&](const toml::table& t, int) {
    Table st(ctx, t, "[[track_script]]");
    if (auto s = load_track_script(st)) cfg.track_scripts.push_back(*s);
  });
  each_table(top, "sync_group", "[[sync_group]]", [&](const toml::table& t, int) {
    Table gt(ctx, t, "[[sync_group]]");
    if (auto g = load_sync_group(gt)) cfg.sync_groups.push_back(*g);
  });
  each_table(top, "virtual_server", "[[virtual_server]]", [&](const toml::table& t, int) {
    Table vt(ctx, t, "[[virtual_server]]");
    if (auto vs = load_vs(vt)) cfg.virtual_servers.push_back(std::move(*vs));
  });
  if (auto* rt = top.subtable("realserver")) {
    if (auto r = load_realserver(ctx, *rt)) cfg.realserver = *r;
  }
  top.finish();
  root.clear();  // the parsed tree (several times the model's size) is not needed any more
  cross_checks(ctx, cfg);
  share_checks(cfg);
  std::stable_sort(result.errors.begin(), result.errors.end(), [](const Error& a, const Error& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

LoadResult load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back(Error{path, 0, 0, "cannot open: " + std::string(std::strerror(errno))});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path);
}


}  // namespace hd::config
