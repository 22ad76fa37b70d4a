// SPDX-License-Identifier: GPL-2.0-or-later
// The loader: parse the TOML, read the sections (sections.h) in order, then the
// cross-references; errors sorted by position.
#include "daemon/config/loader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include <sys/stat.h>

#include "daemon/config/sections.h"

namespace hd::config {

std::string Error::str() const {
  std::ostringstream os;
  os << file << ":" << line << ":" << column << (warning ? ": warning: " : ": error: ") << message;
  return os.str();
}


namespace {

// The sections of one parsed document (or of its first piece), into cfg.
void load_sections(Ctx& ctx, const toml::table& root, Config& cfg) {
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
  each_table(top, "track_file", "[[track_file]]", [&](const toml::table& t, int) {
    Table ft(ctx, t, "[[track_file]]");
    if (auto f = load_track_file(ft)) cfg.track_files.push_back(*f);
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
  if (auto* at = top.subtable("anycast")) {
    Table t(ctx, *at, "[anycast]");
    if (auto a = load_anycast(t)) cfg.anycast = *a;
  }
  top.finish();
}

// Whether the line at text[i..] is a top-level `[[virtual_server]]` header (spaces and a
// comment allowed around it).
bool vs_header_at(std::string_view text, size_t i) {
  auto skip = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  auto eat = [&](std::string_view w) {
    if (text.substr(i, w.size()) != w) return false;
    i += w.size();
    return true;
  };
  skip();
  if (!eat("[[")) return false;
  skip();
  if (!eat("virtual_server")) return false;
  skip();
  if (!eat("]]")) return false;
  skip();
  return i >= text.size() || text[i] == '\n' || text[i] == '\r' || text[i] == '#';
}

struct Piece {
  std::string_view text;
  int line_offset;  // lines of the file before it
};

// A large file is parsed one [[virtual_server]] at a time: toml++ keeps a parsed document
// as a tree of ~400 bytes a line, which for 100,000 real servers is 230 MB held at once,
// where one virtual server's tree is a few kB, freed once its model is built. The pieces:
// everything before the first [[virtual_server]] header, then one piece per header.
// Returns nothing when the file is small (one piece is as good: below split_above) or has no
// such header.
std::optional<std::vector<Piece>> split(std::string_view text, size_t split_above) {
  if (text.size() < split_above || text.size() == 0) return std::nullopt;
  std::vector<Piece> out;
  size_t begin = 0, line_start = 0;
  int line = 0, begin_line = 0;
  while (line_start < text.size()) {
    if (line_start != begin && vs_header_at(text, line_start)) {
      out.push_back({text.substr(begin, line_start - begin), begin_line});
      begin = line_start;
      begin_line = line;
    } else if (line_start == 0 && vs_header_at(text, 0)) {
      out.push_back({std::string_view{}, 0});  // nothing before the first header
    }
    size_t nl = text.find('\n', line_start);
    if (nl == std::string_view::npos) break;
    line_start = nl + 1;
    ++line;
  }
  out.push_back({text.substr(begin), begin_line});
  if (out.size() < 2) return std::nullopt;
  return out;
}

// Loads the pieces; nothing when the pieces do not add up to the file's meaning, so that the
// whole file is parsed in one piece instead (its errors then say exactly what toml++ says):
// a piece that does not parse (a header inside a multi-line string splits it there), the
// first piece defining virtual_server some other way, a later piece holding anything but
// its one [[virtual_server]] (a section written after the virtual servers).
std::optional<LoadResult> load_pieces(const std::vector<Piece>& pieces,
                                      const std::string& source_name,
                                      std::optional<unsigned> file_mode, bool read_secrets) {
  LoadResult result;
  Ctx ctx(source_name, result.errors);
  ctx.set_file_mode(file_mode);
  ctx.set_read_secrets(read_secrets);
  Config cfg;
  cfg.source = source_name;
  for (size_t i = 0; i < pieces.size(); ++i) {
    toml::table root;
    try {
      root = toml::parse(pieces[i].text, source_name);
    } catch (const toml::parse_error&) {
      return std::nullopt;
    }
    ctx.set_line_offset(pieces[i].line_offset);
    if (i == 0) {
      if (root.contains("virtual_server")) return std::nullopt;
      load_sections(ctx, root, cfg);
      continue;
    }
    if (root.size() != 1) return std::nullopt;
    auto* arr = root.get_as<toml::array>("virtual_server");
    if (!arr || arr->size() != 1 || !arr->front().is_table()) return std::nullopt;
    Table vt(ctx, *arr->front().as_table(), "[[virtual_server]]");
    if (auto vs = load_vs(vt)) cfg.virtual_servers.push_back(std::move(*vs));
  }
  ctx.set_line_offset(0);
  result.config = std::move(cfg);
  result.parsed_pieces = pieces.size();
  return result;
}

// The text of `source_name`; `file_mode` is the file's mode bits when it is a file.
LoadResult load_text(std::string_view text, const std::string& source_name, size_t split_above,
                     std::optional<unsigned> file_mode, bool read_secrets = true) {
  LoadResult result;
  std::optional<LoadResult> pieces;
  if (auto p = split(text, split_above))
    pieces = load_pieces(*p, source_name, file_mode, read_secrets);
  Config cfg;
  if (pieces) {
    result = std::move(*pieces);
    cfg = std::move(*result.config);
    result.config.reset();
  } else {
    Ctx ctx(source_name, result.errors);
    ctx.set_file_mode(file_mode);
    ctx.set_read_secrets(read_secrets);
    toml::table root;
    try {
      root = toml::parse(text, source_name);
    } catch (const toml::parse_error& e) {
      result.errors.push_back(Error{source_name, static_cast<int>(e.source().begin.line),
                                    static_cast<int>(e.source().begin.column),
                                    std::string(e.description())});
      return result;
    }
    cfg.source = source_name;
    load_sections(ctx, root, cfg);
  }  // the parsed tree (several times the model's size) goes here
  Ctx ctx(source_name, result.errors);
  cross_checks(ctx, cfg);
  std::stable_sort(result.errors.begin(), result.errors.end(), [](const Error& a, const Error& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  auto warnings = std::stable_partition(result.errors.begin(), result.errors.end(),
                                        [](const Error& e) { return !e.warning; });
  result.warnings.assign(std::make_move_iterator(warnings), std::make_move_iterator(result.errors.end()));
  result.errors.erase(warnings, result.errors.end());
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

}  // namespace

LoadResult load_string(std::string_view text, const std::string& source_name) {
  return load_text(text, source_name, kSplitAbove, std::nullopt);
}

LoadResult load_string(std::string_view text, const std::string& source_name,
                       size_t split_above) {
  return load_text(text, source_name, split_above, std::nullopt);
}

LoadResult load_file(const std::string& path, Secrets secrets) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back(Error{path, 0, 0, "cannot open: " + std::string(std::strerror(errno))});
    return r;
  }
  // One copy of the text (a stringstream's str() would be a second: 27 MB each for 100,000
  // real servers).
  std::string text;
  in.seekg(0, std::ios::end);
  auto size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size > 0) text.reserve(static_cast<size_t>(size));
  text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    LoadResult r;
    r.errors.push_back(Error{path, 0, 0, "cannot read: " + std::string(std::strerror(errno))});
    return r;
  }
  struct stat st {};
  std::optional<unsigned> mode;
  if (stat(path.c_str(), &st) == 0) mode = static_cast<unsigned>(st.st_mode);
  return load_text(text, path, kSplitAbove, mode, secrets == Secrets::read);
}


}  // namespace hd::config
