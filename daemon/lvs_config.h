// SPDX-License-Identifier: GPL-2.0-or-later
// The config's virtual and real servers as the libraries take them (IPVS specs, check
// targets, service keys) and by the names operators and logs use (real-server ids, and
// the lookup of what `hadirector ctl` names). Pure.
#pragma once
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "checkers/checker.h"
#include "daemon/config/model.h"
#include "ipvs/desired.h"

namespace hd {

// The IPVS key of a virtual server.
ipvs::ServiceKey service_key(const config::VirtualServer& vs);
// The id naming a real server of a virtual server, in the health map, checks and logs:
// "tcp 10.0.0.1:80 -> 10.0.1.11:8080".
std::string real_server_id(const config::VirtualServer& vs, const config::RealServer& rs);
// The virtual server's key() in a real_server_id() (everything before " -> ").
std::string_view virtual_server_key_of(std::string_view real_id);
// Every real server's id.
std::set<std::string> real_server_ids(const config::Config& cfg);
// The real server an operator names (hadirector ctl): `vs` is a virtual server's key()
// ("tcp 10.0.0.1:80"), or its ADDRESS:PORT when no other protocol has it; `rs` is the real
// server's ADDRESS:PORT ([V6]:PORT), or its ADDRESS when no other port has it. The id, or
// (with an empty id) why none matches, naming the candidates.
struct Resolved {
  std::string id;
  std::string error;
};
Resolved resolve_real_server(const config::Config& cfg, const std::string& vs,
                             const std::string& rs);
std::vector<ipvs::VirtualServiceSpec> to_ipvs_specs(const config::Config& cfg);
ipvs::VirtualServiceSpec to_ipvs_spec(const config::VirtualServer& vs);  // one of them
// Checks for every real server that has one. `adopted_up`: ids found serving in the kernel
// at start-up, which start as up so a restart does not pull them out of rotation.
std::vector<checkers::Target> to_check_targets(const config::Config& cfg,
                                               const std::set<std::string>& adopted_up);
// The checks of one virtual server's real servers, appended to `out`.
void append_check_targets(const config::VirtualServer& vs, std::vector<checkers::Target>& out);

// The service `k` of table `t`, or nullptr.
inline const ipvs::Service* find_service(const ipvs::Table& t, const ipvs::ServiceKey& k) {
  auto it = t.find(k);
  return it == t.end() ? nullptr : &it->second;
}

// A service as desired and as in the kernel: both absent, or both there and equal.
inline bool in_sync(const ipvs::Service* desired, const ipvs::Service* kernel) {
  return !desired == !kernel && (!desired || *desired == *kernel);
}

}  // namespace hd
