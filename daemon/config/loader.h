// SPDX-License-Identifier: GPL-2.0-or-later
// TOML -> validated Config. Every problem found is reported, each with the
// file, line and column it refers to; a config is accepted whole or not at all.
#pragma once
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
  // "FILE:LINE:COL: error: MESSAGE"
  std::string str() const;
};

struct LoadResult {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<Error> errors;
  bool ok() const { return errors.empty() && config.has_value(); }
};

LoadResult load_file(const std::string& path);
LoadResult load_string(std::string_view text, const std::string& source_name);

using hd::parse_duration;  // core/clock.h

}  // namespace hd::config
