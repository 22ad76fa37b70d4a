// `hadirector drill`: builds a lab of network namespaces (a client, two
// directors running hadirector, three real servers), runs client traffic
// through the VIP, breaks the lab on purpose scenario by scenario, and reports
// what users would have felt. Runs inside the project's qemu VM when the host
// kernel has no IPVS.
#pragma once
#include <string>
#include <vector>

namespace hd::drill {

int drill_main(const std::vector<std::string>& args);

}  // namespace hd::drill
