// SPDX-License-Identifier: GPL-2.0-or-later
// An AddressManager for tests: remembers every request and the addresses it
// would have on each interface, and can be told to refuse adds.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "rtnl/address.h"

namespace hd::rtnl {

class FakeAddressManager final : public AddressManager {
 public:
  struct Request {
    AddrOp op;
    AddressSpec spec;
  };
  void add(const AddressSpec& a) override {
    requests.push_back({AddrOp::add, a});
    if (refuse_adds) return;
    if (!has(a.address)) present.push_back(a);
  }
  void remove(const AddressSpec& a) override {
    requests.push_back({AddrOp::remove, a});
    std::erase_if(present, [&](const AddressSpec& p) { return p.address == a.address; });
  }
  bool has(const IpAddress& a) const {
    return std::any_of(present.begin(), present.end(),
                       [&](const AddressSpec& p) { return p.address == a; });
  }
  // Drops an address as an administrator's `ip addr del` would (no request recorded).
  void vanish(const IpAddress& a) {
    std::erase_if(present, [&](const AddressSpec& p) { return p.address == a; });
  }
  size_t count(AddrOp op) const {
    return static_cast<size_t>(std::count_if(requests.begin(), requests.end(),
                                             [&](const Request& r) { return r.op == op; }));
  }

  std::vector<Request> requests;
  std::vector<AddressSpec> present;
  bool refuse_adds = false;
};

}  // namespace hd::rtnl
