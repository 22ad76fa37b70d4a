// SPDX-License-Identifier: GPL-2.0-or-later
// hadirector-drill --topology ecmp: the anycast lab (docs/anycast.md) for users. Three
// directors with hadirector (announce = "bgp", LVS-DR, mh, sync) and BIRD behind an ECMP
// router, four real servers, scenarios with budgets; the lab itself is a script installed
// beside the VM runner (lib/hadirector/anycast-lab.sh; tests/vm/anycast/lab.sh in the
// source tree), run on this kernel when it has IPVS, else in the VM.
#pragma once
#include <string>
#include <vector>

namespace hd::drill {

int ecmp_main(const std::vector<std::string>& args, const std::string& self);

}  // namespace hd::drill
