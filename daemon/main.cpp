// hadirector: a high-availability director for Linux LVS.
#include <string>
#include <vector>

#include "daemon/commands.h"
#include "daemon/drill/drill.h"
#include "daemon/drill/traffic.h"

int main(int argc, char** argv) {
  if (argc < 2) return hd::cli::usage(2);
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "run") return hd::cli::run(args);
  if (cmd == "check") return hd::cli::check(args);
  if (cmd == "status") return hd::cli::status(args);
  if (cmd == "drill") return hd::drill::drill_main(args);
  // Hidden helpers the drill runs inside its lab namespaces.
  if (cmd == "drill-httpd") return hd::drill::httpd_main(args);
  if (cmd == "drill-client") return hd::drill::client_main(args);
  if (cmd == "version" || cmd == "--version") return hd::cli::version(args);
  if (cmd == "-h" || cmd == "--help" || cmd == "help") return hd::cli::usage(0);
  return hd::cli::usage(2);
}
