// SPDX-License-Identifier: GPL-2.0-or-later
// TOML -> validated Config. Every problem found is reported, each with the
// file, line and column it refers to; a config is accepted whole or not at all.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config/model.h"

namespace hd::config {

struct Error {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  bool warning = false;  // accepted, but probably not what was meant
  // "FILE:LINE:COL: error: MESSAGE" (or "warning:")
  std::string str() const;
};

struct LoadResult {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<Error> errors;
  std::vector<Error> warnings;  // the config is accepted with these
  // How many separate parses read the text: 1, or with kSplitAbove the first part plus one
  // per [[virtual_server]] (1 again when the pieces could not stand for the whole).
  size_t parsed_pieces = 1;
  bool ok() const { return errors.empty() && config.has_value(); }
};

// Secrets::skip: key files and credentials (docs/vrrp-auth.md) are named but not read, each
// key standing in as zeros. For a client that only needs the file's [global] (the control
// socket of `hadirector reload -c`, `status -c`): it may not be allowed to read the keys,
// and the daemon that loads the file reads them and reports what is wrong.
enum class Secrets { read, skip };
LoadResult load_file(const std::string& path, Secrets secrets = Secrets::read);
LoadResult load_string(std::string_view text, const std::string& source_name);

// Above this size a file is parsed one [[virtual_server]] at a time (the parsed tree of
// the whole file would be several times the size of the config it becomes); the result is
// the same, errors and positions included. Tests pass 0 (always) and SIZE_MAX (never).
inline constexpr size_t kSplitAbove = 256 * 1024;
LoadResult load_string(std::string_view text, const std::string& source_name,
                       size_t split_above);

using hd::parse_duration;  // core/clock.h

}  // namespace hd::config
