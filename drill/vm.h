// SPDX-License-Identifier: GPL-2.0-or-later
// Running the drill inside a VM when this kernel has no IPVS: Debian's kernel
// under qemu, booted by the project's runner (tests/vm/run-in-vm.sh, installed
// as <prefix>/lib/hadirector/run-in-vm.sh). The guest's output comes back as
// one stream; the report is framed (drill/report.h) and printed alone on
// standard output, everything else goes to standard error.
#pragma once
#include <string>
#include <vector>

#include "drill/params.h"

namespace hd::drill {

// The runner to use: --vm-runner, else $HD_VM_RUNNER, else the one installed beside this
// program (<dir>/../lib/hadirector/run-in-vm.sh). "" when none exists.
std::string find_vm_runner(const Options& o);

// Runs `hadirector-drill --no-vm ARGS` in the VM; returns its exit status (2: could not run).
int run_in_vm(const Options& o, const std::vector<std::string>& args);

// Splits the guest's output: framed report lines to `report`, the rest to `other`.
// Feed it whole lines without their '\n'.
class ReportSplitter {
 public:
  void line(const std::string& l, std::string& report, std::string& other);
  bool seen_report() const { return seen_; }

 private:
  bool in_ = false, seen_ = false;
};

}  // namespace hd::drill
