// SPDX-License-Identifier: GPL-2.0-or-later
// Shorthands for building IPVS values in tests.
#pragma once
#include <string_view>

#include "ipvs/model.h"

namespace hd::ipvs::testing {

inline IpAddress ip(std::string_view s) {
  return *IpAddress::parse(s);
}

inline ServiceKey tcp(std::string_view addr, uint16_t port) {
  return ServiceKey::inet(Protocol::tcp, ip(addr), port);
}

inline Destination dest(std::string_view addr, uint16_t port, int32_t weight = 1,
                        Method m = Method::nat) {
  Destination d;
  d.key = DestKey{ip(addr), port};
  d.weight = weight;
  d.method = m;
  return d;
}

inline Service service(const ServiceKey& key, std::string scheduler = "wrr",
                       std::vector<Destination> dests = {}) {
  Service s;
  s.key = key;
  s.scheduler = std::move(scheduler);
  s.destinations = std::move(dests);
  return s;
}

inline Table table(std::initializer_list<Service> services) {
  Table t;
  for (const auto& s : services) t[s.key] = s;
  return t;
}

}  // namespace hd::ipvs::testing
