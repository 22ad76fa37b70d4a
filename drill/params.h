// SPDX-License-Identifier: GPL-2.0-or-later
// What a drill run is told: the command line (Options), the timers and
// scheduling its lab's directors run with (LabParams, from the defaults or an
// operator's own config), and the budget each scenario must keep (from the
// scenario table's defaults or a drill config file).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "drill/lab.h"

namespace hd::drill {

struct LabParams {
  int version = 3;
  double advert = 0.1;  // seconds
  bool preempt = true;
  double preempt_delay = 0;
  std::string scheduler = "wrr";
  int persistence = 0;  // seconds
  bool inhibit = false;
  double slow_start = 0;
  std::string check_type = "http";  // http or tcp: what the lab's servers answer
  std::string check_path = "/";
  double check_interval = 0.3, check_timeout = 0.25;
  int rise = 2, fall = 2;
  // The directors' data plane: IPVS (in the VM where this kernel has none) or nftables (on
  // this kernel, NAT only).
  bool nftables = false;
  // nftables: conntrackd (found in PATH) runs on each director, syncing conntrack over the
  // directors' back link, and hadirector tells it each transition ([global] conntrackd).
  bool conntrackd = false;
  std::vector<std::string> notes;  // what --config gave, and what it could not
  // RFC 3768/5798 timers of the Backup (priority 100).
  double skew() const { return version == 2 ? (256 - 100) / 256.0 : (256 - 100) * advert / 256; }
  double mdi() const { return 3 * advert + skew(); }
};

struct Budget {
  double max_outage = 0;         // seconds from the fault to the VIP answering again (0: none)
  int max_failed = -1;           // failed requests allowed (-1: no limit)
  double max_failing_after = 0;  // requests may fail this long after the fault (0: no limit)
  double max_after_heal = 0;     // seconds from the heal to the VIP answering (0: none)
  int max_long_broken = -1;      // long-lived connections broken (-1: no limit)
};

struct Options {
  Mode mode = Mode::nat;
  bool mode_given = false;
  std::string user_config;   // --config: an operator's hadirector config
  std::string drill_config;  // --drill-config: traffic and budgets
  std::vector<std::string> scenarios;
  bool json = false;
  bool keep = false;
  bool no_vm = false;
  bool report_markers = false;  // inside the VM: frame the report for the host side
  double rate = 40;
  int longs = 3;
  double soak_s = 0;       // --soak DURATION: random scenarios for this long (0: the list once)
  uint64_t seed = 0;       // --seed N: the soak's random choices (0: pick one and print it)
  std::string self;        // this program (run in the lab as the traffic tools)
  std::string daemon;      // the hadirector binary the lab's directors run
  std::string vm_runner;   // tests/vm/run-in-vm.sh, installed as lib/hadirector/run-in-vm.sh
};

// Takes from an operator's config what fits the lab: the first VRRP instance's timers and the
// first virtual server's scheduling and checks. Returns the config's errors ("" when valid).
std::string params_from_config(const std::string& path, LabParams& p, Options& o);

// The drill's own config: [traffic] rate, long_lived; [budget.SCENARIO] keys. Returns errors,
// one FILE:LINE:COL line each ("" when valid).
std::string load_drill_config(const std::string& path, Options& o,
                              std::map<std::string, Budget>& budgets);

}  // namespace hd::drill
