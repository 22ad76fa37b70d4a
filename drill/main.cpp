// SPDX-License-Identifier: GPL-2.0-or-later
// hadirector-drill: the failover drill (drill/drill.h) and its two traffic
// tools (drill/http_tools.h), which it runs inside its lab's namespaces.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/spawn.h"
#include "daemon/config/loader.h"
#include "drill/drill.h"
#include "drill/ecmp.h"
#include "drill/flood.h"
#include "drill/http_tools.h"
#include "drill/params.h"
#include "drill/proc.h"
#include "drill/scenarios.h"
#include "drill/vm.h"

namespace hd::drill {

std::atomic<bool> g_interrupted{false};

namespace {

const char* kUsage =
    "usage: hadirector-drill [--mode nat|dr] [--scenario NAME]... [--json] [--keep]\n"
    "       hadirector-drill --topology ecmp [...]  (anycast directors: --topology ecmp --help)\n"
    "                        [--rate N] [--long N] [--config FILE] [--drill-config FILE]\n"
    "                        [--daemon PATH] [--vm-runner PATH] [--soak DURATION [--seed N]]\n"
    "--config FILE: drill an operator's hadirector config on the lab: its VRRP timers,\n"
    "  scheduler and check timers (addresses and interfaces stay the lab's).\n"
    "--drill-config FILE: [traffic] rate, long_lived; [budget.SCENARIO] max_outage,\n"
    "  max_failed, max_failing_after, max_after_heal (defaults derive from the VRRP and check timers).\n"
    "--dataplane kernel|nftables: the directors program IPVS (default; in the VM on a kernel\n"
    "  without it) or nftables (on this kernel, NAT only: docs/nftables.md).\n"
    "--daemon PATH: the hadirector binary the lab's directors run (default: the one beside\n"
    "  this program). --vm-runner PATH: the VM runner (default: $HD_VM_RUNNER, or\n"
    "  ../lib/hadirector/run-in-vm.sh from this program's directory).\n"
    "Builds a lab of network namespaces (client, two directors, three real servers),\n"
    "runs HTTP traffic through the VIP and plays failure scenarios:\n"
    "  master-kill master-stop link-cut rs-down rs-500 reload-weight wrr-share\n"
    "  master-freeze reload-storm partition fd-exhaustion advert-flood iface-recreate\n"
    "  vrrp-netem auth-rollout (and disk-full in DR mode)\n"
    "--soak DURATION (\"10m\", \"1h\"): play scenarios in a random order, with random pauses,\n"
    "  until DURATION has passed, checking after each that both daemons still run and\n"
    "  neither grows in descriptors or memory; --seed N replays a soak (the seed is printed).\n"
    "Only the report goes to standard output (a table, or JSON with --json); progress goes\n"
    "to standard error. Exit status 0 when every scenario kept its budget, 1 otherwise, 2 on\n"
    "error. On a kernel without IPVS it runs inside the project's qemu VM.\n";

std::string self_path() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "hadirector-drill";
  buf[n] = 0;
  return buf;
}

int drill_main(const std::vector<std::string>& args) {
  Options o;
  o.self = self_path();
  std::vector<std::string> pass;  // arguments forwarded to the VM
  bool dataplane_nft = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto val = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : ""; };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--mode") {
      std::string m = val();
      if (m != "nat" && m != "dr") {
        std::cerr << "drill: --mode must be nat or dr\n";
        return 2;
      }
      o.mode = m == "dr" ? Mode::dr : Mode::nat;
      o.mode_given = true;
      pass.insert(pass.end(), {"--mode", m});
    } else if (a == "--dataplane") {
      std::string dp = val();
      if (dp != "kernel" && dp != "nftables") {
        std::cerr << "drill: --dataplane must be kernel or nftables\n";
        return 2;
      }
      dataplane_nft = dp == "nftables";
      pass.insert(pass.end(), {"--dataplane", dp});
    } else if (a == "--config" || a == "-c") {
      o.user_config = val();
      pass.insert(pass.end(), {"--config", o.user_config});
    } else if (a == "--drill-config") {
      o.drill_config = val();
      pass.insert(pass.end(), {"--drill-config", o.drill_config});
    } else if (a == "--scenario") {
      std::string s = val();
      if (!find_scenario(s)) {
        std::cerr << "drill: unknown scenario '" << s << "'\n";
        return 2;
      }
      o.scenarios.push_back(s);
      pass.insert(pass.end(), {"--scenario", s});
    } else if (a == "--json") {
      o.json = true;
      pass.push_back(a);
    } else if (a == "--keep") {
      o.keep = true;
      pass.push_back(a);
    } else if (a == "--no-vm") {
      o.no_vm = true;
    } else if (a == "--report-markers") {
      o.report_markers = true;
    } else if (a == "--daemon") {
      o.daemon = val();
    } else if (a == "--vm-runner") {
      o.vm_runner = val();
    } else if (a == "--soak") {
      std::string v = val();
      auto d = config::parse_duration(v);
      if (!d || *d <= Duration::zero()) {
        std::cerr << "drill: --soak needs a duration (\"90s\", \"10m\", \"1h\")\n";
        return 2;
      }
      o.soak_s = std::chrono::duration<double>(*d).count();
      pass.insert(pass.end(), {"--soak", v});
    } else if (a == "--seed") {
      o.seed = std::strtoull(val().c_str(), nullptr, 10);
      pass.insert(pass.end(), {"--seed", std::to_string(o.seed)});
    } else if (a == "--rate") {
      o.rate = std::atof(val().c_str());
      pass.insert(pass.end(), {"--rate", std::to_string(o.rate)});
    } else if (a == "--long") {
      o.longs = std::atoi(val().c_str());
      pass.insert(pass.end(), {"--long", std::to_string(o.longs)});
    } else {
      std::cerr << "drill: unknown argument '" << a << "' (see --help)\n";
      return 2;
    }
  }
  const bool all_scenarios = o.scenarios.empty();
  if (o.soak_s > 0 && o.seed == 0) {
    o.seed = std::random_device{}() | 1;
    pass.insert(pass.end(), {"--seed", std::to_string(o.seed)});  // the VM replays the same
  }
  if (struct stat st; !o.vm_runner.empty() && ::stat(o.vm_runner.c_str(), &st) != 0) {
    std::cerr << "drill: --vm-runner " << o.vm_runner << ": no such file\n";
    return 2;
  }
  if (o.daemon.empty()) o.daemon = o.self.substr(0, o.self.rfind('/') + 1) + "hadirector";
  if (char* abs = realpath(o.daemon.c_str(), nullptr)) {
    o.daemon = abs;
    free(abs);
  } else {
    std::cerr << "drill: the hadirector binary " << o.daemon << " is missing (--daemon PATH)\n";
    return 2;
  }
  LabParams params;
  if (!o.user_config.empty()) {
    if (auto err = params_from_config(o.user_config, params, o); !err.empty()) {
      std::cerr << err << "drill: " << o.user_config << " is invalid\n";
      return 2;
    }
  }
  // The mode is known now (--mode, or the operator's config): scenarios for the other mode
  // only are left out of the default list and refused when named.
  if (all_scenarios) o.scenarios = scenario_names(o.mode);
  for (auto& s : o.scenarios)
    if (auto* sc = find_scenario(s); sc->dr_only && o.mode != Mode::dr) {
      std::cerr << "drill: scenario '" << s << "' runs in DR mode only (--mode dr)\n";
      return 2;
    }
  params.nftables = dataplane_nft;  // before the budgets, which depend on it
  params.conntrackd = dataplane_nft && find_program("conntrackd").has_value();
  if (dataplane_nft && !params.conntrackd)
    std::cerr << "drill: conntrackd is not installed: no connection sync between the directors, "
                 "long-lived connections not judged where the VIP moves\n";
  std::map<std::string, Budget> budgets;
  for (auto& s : scenarios()) budgets[s.name] = s.budget(params);
  if (!o.drill_config.empty()) {
    if (auto err = load_drill_config(o.drill_config, o, budgets); !err.empty()) {
      std::cerr << err;
      return 2;
    }
  }
  if (geteuid() != 0) {
    std::cerr << "drill: needs root (it creates network namespaces)\n";
    return 2;
  }
  if (dataplane_nft && o.mode != Mode::nat) {
    std::cerr << "drill: --dataplane nftables runs NAT only (docs/nftables.md)\n";
    return 2;
  }
  // nftables needs no IPVS: the lab runs on this kernel.
  if (!o.no_vm && !dataplane_nft && !host_has_ipvs()) {
    if (o.keep && !isatty(0)) {
      std::cerr << "drill: --keep on a kernel without IPVS opens a shell in the VM: it needs a "
                   "terminal\n";
      return 2;
    }
    return run_in_vm(o, pass);
  }
  signal(SIGINT, [](int) { g_interrupted = true; });
  signal(SIGTERM, [](int) { g_interrupted = true; });
  signal(SIGPIPE, SIG_IGN);
  Drill d(o, params, budgets);
  return d.run();
}

}  // namespace
}  // namespace hd::drill

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // The traffic tools, run by the drill itself inside its lab's namespaces.
  if (!args.empty() && args[0] == "httpd")
    return hd::drill::httpd_main({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "flood")
    return hd::drill::flood_main({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "client")
    return hd::drill::client_main({args.begin() + 1, args.end()});
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--topology" && args[i + 1] == "ecmp")
      return hd::drill::ecmp_main(args, hd::drill::self_path());
  return hd::drill::drill_main(args);
}
