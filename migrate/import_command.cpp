// SPDX-License-Identifier: GPL-2.0-or-later
// `hadirector import-keepalived`: read keepalived.conf, write hadirector TOML, list what did
// not carry over. The TOML is loaded back before it is written: an output that
// `hadirector check` would refuse is the importer's bug, reported as such, never written.
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "daemon/commands.h"
#include "daemon/config/loader.h"
#include "migrate/keepalived_import.h"

namespace hd::cli {

namespace {
constexpr const char* kImportUsage =
    "usage: hadirector import-keepalived FILE [-o OUT.toml] [--strict] [--config-id ID]\n"
    "                                     [--lvs-only]\n"
    "Reads FILE in keepalived.conf's language (includes, $NAME definitions, @conditionals as\n"
    "keepalived 2.2 reads them) and writes the same directors as hadirector TOML to OUT (or\n"
    "standard output). Every keyword that is not carried over is listed on standard error,\n"
    "FILE:LINE: warning: ..., and each difference in behaviour as FILE:LINE: note: ...; the\n"
    "same list heads the TOML. The output passes `hadirector check`.\n"
    "  -o OUT          write the TOML here (replaced only when the import succeeds)\n"
    "  --strict        exit 1 when there is any warning (nothing is written then)\n"
    "  --config-id ID  keepalived's -i: which @ID lines apply (default: this host's name up\n"
    "                  to the first dot, as keepalived takes it)\n"
    "  --lvs-only      only the virtual servers and global IPVS settings (what keepalived -C\n"
    "                  runs): to run beside keepalived -P during a migration\n"
    "Exit: 0 written; 1 warnings with --strict; 2 usage, unreadable FILE or OUT.\n";
}  // namespace

int import_keepalived(const std::vector<std::string>& args) {
  std::string in, out, config_id = migrate::keepalived::default_config_id();
  bool strict = false;
  migrate::keepalived::ImportOptions io;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << kImportUsage;
      return 0;
    }
    if ((a == "-o" || a == "--output" || a == "--config-id") && i + 1 < args.size()) {
      (a == "--config-id" ? config_id : out) = args[++i];
    } else if (a == "--strict") {
      strict = true;
    } else if (a == "--lvs-only") {
      io.lvs_only = true;
    } else if (!a.empty() && a[0] != '-' && in.empty()) {
      in = a;
    } else {
      std::cerr << "hadirector import-keepalived: unexpected argument '" << a << "'\n"
                << kImportUsage;
      return 2;
    }
  }
  if (in.empty()) {
    std::cerr << kImportUsage;
    return 2;
  }
  migrate::keepalived::RealFiles files;
  if (!files.read(in)) {
    std::cerr << "hadirector import-keepalived: cannot read " << in << "\n";
    return 2;
  }
  migrate::keepalived::ReadOptions ro;
  ro.config_id = config_id;
  auto imported = migrate::keepalived::import_file(in, files, ro, io);
  for (auto& d : imported.diagnostics) std::cerr << d.str() << "\n";
  const std::string toml = migrate::keepalived::to_toml(imported);
  auto loaded = config::load_string(toml, out.empty() ? "<import>" : out);
  if (!loaded.ok()) {
    std::cerr << "hadirector import-keepalived: BUG: the TOML written for " << in
              << " does not pass hadirector check; please report it with the file:\n";
    for (auto& e : loaded.errors) std::cerr << "  " << e.str() << "\n";
    return 2;
  }
  const size_t warnings = imported.warnings();
  std::cerr << in << ": " << imported.config.vrrp_instances.size() << " vrrp instance(s), "
            << imported.config.virtual_servers.size() << " virtual server(s); " << warnings
            << " warning(s), " << imported.diagnostics.size() - warnings << " note(s)\n";
  if (strict && warnings > 0) {
    std::cerr << "hadirector import-keepalived: --strict: not written\n";
    return 1;
  }
  if (out.empty()) {
    std::cout << toml;
    return 0;
  }
  const std::string tmp = out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << toml;
    if (!f.flush()) {
      std::cerr << "hadirector import-keepalived: cannot write " << tmp << "\n";
      return 2;
    }
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    std::cerr << "hadirector import-keepalived: cannot write " << out << "\n";
    unlink(tmp.c_str());
    return 2;
  }
  return 0;
}

}  // namespace hd::cli
