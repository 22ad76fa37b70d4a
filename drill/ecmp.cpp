// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/ecmp.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <set>

#include "drill/params.h"
#include "drill/proc.h"
#include "drill/vm.h"

namespace hd::drill {
namespace {

const char* kEcmpUsage =
    "usage: hadirector-drill --topology ecmp [--scenario NAME]... [--rate N] [--long N]\n"
    "                        [--daemon PATH] [--vm-runner PATH] [--bird PATH]\n"
    "Three anycast directors (announce = \"bgp\", LVS-DR, mh, connection sync both ways), each\n"
    "with BIRD 2, behind a router that spreads flows over them by ECMP; four real servers.\n"
    "Scenarios (default: all but host-dies, in this order):\n"
    "  steady drain daemon-kill added-back bird-kill quorum-one rs-dies host-dies\n"
    "Each runs new connections (--rate, default 40/s) and long-lived ones (--long, default\n"
    "20) across it and reports the router's withdraw time, failed new requests and broken\n"
    "long-lived connections against its budget (docs/anycast.md). Needs root and bird2; on\n"
    "a kernel without IPVS it runs in the project's qemu VM. Exit 0 when every budget held.\n";

const std::set<std::string> kScenarios = {"steady",   "drain",      "daemon-kill", "added-back",
                                          "bird-kill", "quorum-one", "rs-dies",     "host-dies"};

std::string absolute(const std::string& p) {
  char* a = realpath(p.c_str(), nullptr);
  if (!a) return "";
  std::string out = a;
  free(a);
  return out;
}

}  // namespace

int ecmp_main(const std::vector<std::string>& args, const std::string& self) {
  Options o;
  o.self = self;
  std::string scenarios, rate = "40", longs = "20", bird;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto val = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : ""; };
    if (a == "-h" || a == "--help") {
      std::cout << kEcmpUsage;
      return 0;
    } else if (a == "--topology") {
      val();  // ecmp: how we got here
    } else if (a == "--scenario") {
      std::string s = val();
      if (!kScenarios.count(s)) {
        std::cerr << "drill: unknown ecmp scenario '" << s << "' (see --topology ecmp --help)\n";
        return 2;
      }
      scenarios += (scenarios.empty() ? "" : " ") + s;
    } else if (a == "--rate") {
      rate = std::to_string(std::max(1, std::atoi(val().c_str())));
    } else if (a == "--long") {
      longs = std::to_string(std::max(0, std::atoi(val().c_str())));
    } else if (a == "--daemon") {
      o.daemon = val();
    } else if (a == "--vm-runner") {
      o.vm_runner = val();
    } else if (a == "--bird") {
      bird = val();
    } else {
      std::cerr << "drill: '" << a << "' does not apply to --topology ecmp (see --help)\n";
      return 2;
    }
  }
  if (geteuid() != 0) {
    std::cerr << "drill: needs root (it creates network namespaces)\n";
    return 2;
  }
  if (o.daemon.empty()) o.daemon = dir_of(self) + "/hadirector";
  std::string daemon = absolute(o.daemon);
  std::string lab = dir_of(self) + "/../lib/hadirector/anycast-lab.sh";
  if (bird.empty()) bird = exists("/usr/sbin/bird") ? "/usr/sbin/bird" : "/usr/bin/bird";
  for (auto [what, path] : {std::pair{"the hadirector binary (--daemon)", daemon},
                            std::pair{"the lab script", lab},
                            std::pair{"BIRD 2 (apt install bird2; or --bird)", bird}})
    if (!exists(path)) {
      std::cerr << "drill: " << what << " not found" << (path.empty() ? "" : " at " + path) << "\n";
      return 2;
    }
  lab = absolute(lab);
  std::vector<std::string> env = {"env", "LAB_RATE=" + rate, "LAB_LONG=" + longs};
  if (!scenarios.empty()) env.push_back("LAB_SCENARIOS=" + scenarios);
  if (const char* t = std::getenv("LAB_CLIENT_S"); t && *t)  // CI's short version
    env.push_back(std::string("LAB_CLIENT_S=") + t);
  std::vector<std::string> argv;
  if (host_has_ipvs()) {
    argv = env;
    argv.insert(argv.end(), {"bash", lab, daemon, self, bird});
  } else {
    std::string runner = find_vm_runner(o);
    if (runner.empty()) {
      std::cerr << "drill: this kernel has no IPVS and no VM runner was found (--vm-runner, "
                   "$HD_VM_RUNNER, or lib/hadirector/run-in-vm.sh beside this program)\n";
      return 2;
    }
    std::cerr << "drill: this kernel has no IPVS: running the ECMP lab inside a VM (" << runner
              << ")\n";
    argv = {runner, "--timeout", "600", "--mem", "1536", "--smp", "2", "--file", self,
            "--file", daemon, "--file", bird, "--file", lab + ":/anycast-lab.sh", "--"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.insert(argv.end(), {"bash", "/anycast-lab.sh", daemon, self, bird});
  }
  std::vector<char*> c;
  for (auto& s : argv) c.push_back(s.data());
  c.push_back(nullptr);
  execvp(c[0], c.data());
  std::cerr << "drill: cannot run " << argv[0] << "\n";
  return 2;
}

}  // namespace hd::drill
