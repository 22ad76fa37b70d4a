// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the keepalived.conf reader (hadirector import-keepalived reads files
// users hand it): input = main file, then optionally "\0" and a file the main one may include
// as "a.inc" (or include itself; map_files.h globs a trailing "*"). Checked after every input (abort() on a breach):
//   - every line has at least one word, a file and a line number from 1, and no word holds
//     a line break;
//   - build_tree() keeps every keyword line (nodes = lines that are not lone braces);
//   - the reader terminates (self-inclusion is bounded; definitions stop after 16 rounds);
//   - the importer maps whatever tree it gets into TOML that the loader accepts (what
//     `hadirector import-keepalived` writes must always pass `hadirector check`).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "daemon/config/loader.h"
#include "migrate/keepalived_import.h"
#include "migrate/keepalived_reader.h"
#include "migrate/map_files.h"

namespace {
using namespace hd::migrate::keepalived;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "keepalived_reader_fuzz: %s\n", what);
  std::abort();
}

size_t count_nodes(const std::vector<Node>& nodes) {
  size_t n = nodes.size();
  for (auto& x : nodes) n += count_nodes(x.children);
  return n;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  MapFiles f;
  auto zero = in.find('\0');
  f.files["/k/keepalived.conf"] = in.substr(0, zero);
  if (zero != std::string::npos) f.files["/k/a.inc"] = in.substr(zero + 1);
  ReadOptions o{"low", 8, 64};
  auto r = read("/k/keepalived.conf", f, o);
  size_t keyword_lines = 0;
  for (auto& l : r.lines) {
    if (l.words.empty()) fail("a line without words");
    if (l.pos.file.empty() || l.pos.line < 1) fail("a line without a position");
    for (auto& w : l.words)
      if (w.find('\n') != std::string::npos) fail("a word with a line break");
    if (!(l.words.size() == 1 && (l.words[0] == "{" || l.words[0] == "}"))) ++keyword_lines;
  }
  auto t = build_tree(r.lines);
  if (count_nodes(t.top) != keyword_lines) fail("build_tree lost or made up a keyword line");
  auto im = import_tree(t, "/k/keepalived.conf");
  auto loaded = hd::config::load_string(to_toml(im), "imported.toml");
  if (!loaded.ok()) {
    for (auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    fail("the importer wrote TOML the loader refuses");
  }
  return 0;
}
