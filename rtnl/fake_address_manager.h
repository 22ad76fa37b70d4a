// SPDX-License-Identifier: GPL-2.0-or-later
// An AddressManager for tests: remembers every request and the addresses it
// would have on each interface, and can be told to refuse adds.
#pragma once
#include <algorithm>
#include <set>
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
  // Answers at once, as the kernel's acknowledgement would arrive: refused adds with
  // `refuse_with` (an errno) while refuse_adds is set.
  void add(const AddressSpec& a) override {
    requests.push_back({AddrOp::add, a});
    if (refuse_adds || refused_addresses.count(a.address)) {
      answer({AddrOp::add, a, refuse_with});
      return;
    }
    if (!has(a.address)) present.push_back(a);
    answer({AddrOp::add, a, 0});
  }
  // defer_answers: acknowledgements wait for release_answers(), as a slow kernel's would.
  void release_answers() {
    auto held = std::move(deferred);
    deferred.clear();
    for (auto& r : held) report(r);
  }
  void remove(const AddressSpec& a) override {
    requests.push_back({AddrOp::remove, a});
    std::erase_if(present, [&](const AddressSpec& p) { return p.address == a.address; });
    answer({AddrOp::remove, a, 0});
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
  std::set<IpAddress> refused_addresses;  // refused even when refuse_adds is not set
  int refuse_with = 1;  // EPERM
  bool defer_answers = false;
  std::vector<AddressResult> deferred;

 private:
  void answer(const AddressResult& r) {
    if (defer_answers)
      deferred.push_back(r);
    else
      report(r);
  }
};

}  // namespace hd::rtnl
