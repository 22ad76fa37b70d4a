// SPDX-License-Identifier: GPL-2.0-or-later
// keepalived.conf -> hadirector config (#15, `hadirector import-keepalived`): the second stage
// after keepalived_reader.h. The block tree is mapped, keyword by keyword, onto
// config::Config; every keyword is either carried over, or reported with where it was:
//   FILE:LINE: warning: KEYWORD not supported: WHAT WAS DONE INSTEAD
//   FILE:LINE: note: KEYWORD: HOW HADIRECTOR DIFFERS
// Pure: the file system is the reader's Files port. docs/migrating-from-keepalived.md lists
// every mapping and decision.
#pragma once
#include <string>
#include <vector>

#include "daemon/config/model.h"
#include "migrate/keepalived_reader.h"

namespace hd::migrate::keepalived {

struct Imported {
  config::Config config;
  std::vector<Diagnostic> diagnostics;  // the reader's, the tree's and the mapping's, in order
  // Where each section of `config` came from (parallel to its vectors), for the comments.
  std::vector<Pos> instance_from, script_from, file_from, group_from, vs_from;
  std::vector<std::vector<Pos>> rs_from;  // per virtual server, per real server
  std::string source;                     // the main file
  size_t warnings() const;
};

struct ImportOptions {
  // Only what keepalived's checker process (keepalived -C) runs: the virtual servers and
  // [global]'s IPVS settings; no VRRP instance, script, sync group or connection sync, and
  // no diagnostic about them. For running beside keepalived -P (VRRP only) during a
  // migration, and for comparing the two IPVS tables.
  bool lvs_only = false;
};

Imported import_tree(const Tree& tree, const std::string& source, const ImportOptions& o = {});
// read() + build_tree() + import_tree(), diagnostics of all three.
Imported import_file(const std::string& path, Files& files, const ReadOptions& options,
                     const ImportOptions& o = {});

// The TOML to write: a header naming the source and listing every diagnostic, then
// config::to_toml(config) with "# from FILE:LINE" above each section.
std::string to_toml(const Imported& imported);

}  // namespace hd::migrate::keepalived
