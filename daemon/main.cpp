// SPDX-License-Identifier: GPL-2.0-or-later
// hadirector: a high-availability director for Linux LVS.
#include <string>
#include <vector>

#include "daemon/commands.h"

int main(int argc, char** argv) {
  if (argc < 2) return hd::cli::usage(2);
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "run") return hd::cli::run(args);
  if (cmd == "check") return hd::cli::check(args);
  if (cmd == "status") return hd::cli::status(args);
  if (cmd == "reload") return hd::cli::reload(args);
  if (cmd == "ctl") return hd::cli::ctl(args);
  if (cmd == "import-keepalived") return hd::cli::import_keepalived(args);
  if (cmd == "drill") return hd::cli::drill(args);
  if (cmd == "version" || cmd == "--version") return hd::cli::version(args);
  if (cmd == "-h" || cmd == "--help" || cmd == "help") return hd::cli::usage(0);
  return hd::cli::usage(2);
}
