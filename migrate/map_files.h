// SPDX-License-Identifier: GPL-2.0-or-later
// A keepalived::Files from a map of path -> contents, for tests and the fuzzer. glob() matches
// a path itself or, for a pattern ending in '*', every path with that prefix (paths
// normalised: "a/../b" is "b").
#pragma once
#include <filesystem>
#include <map>

#include "migrate/keepalived_reader.h"

namespace hd::migrate::keepalived {

class MapFiles final : public Files {
 public:
  std::map<std::string, std::string> files;
  std::optional<std::string> read(const std::string& p) override {
    auto it = files.find(p);
    if (it == files.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> glob(const std::string& raw) override {
    std::vector<std::string> out;
    const std::string pattern = std::filesystem::path(raw).lexically_normal().string();
    const bool star = !pattern.empty() && pattern.back() == '*';
    const std::string prefix = star ? pattern.substr(0, pattern.size() - 1) : pattern;
    for (auto& [name, text] : files)
      if (star ? name.rfind(prefix, 0) == 0 : name == pattern) out.push_back(name);
    return out;
  }
};

}  // namespace hd::migrate::keepalived
