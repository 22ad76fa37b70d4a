// SPDX-License-Identifier: GPL-2.0-or-later
// The subcommands of the hadirector binary. Each returns the exit status.
#pragma once
#include <string>
#include <vector>

namespace hd::cli {

inline constexpr const char* kDefaultConfig = "/etc/hadirector/hadirector.toml";

int run(const std::vector<std::string>& args);
int check(const std::vector<std::string>& args);
int status(const std::vector<std::string>& args);
int reload(const std::vector<std::string>& args);
int ctl(const std::vector<std::string>& args);
int version(const std::vector<std::string>& args);
// `hadirector drill ARGS`: execs hadirector-drill (installed beside this binary) with ARGS.
int drill(const std::vector<std::string>& args);
// `hadirector import-keepalived FILE [-o OUT] [--strict] [--config-id ID]` (migrate/).
int import_keepalived(const std::vector<std::string>& args);
int usage(int status);

}  // namespace hd::cli
