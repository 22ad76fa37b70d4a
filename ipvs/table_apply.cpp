// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/table_apply.h"

#include <algorithm>
#include <cerrno>

namespace hd::ipvs {
namespace {

bool valid(const Destination& d) {
  return d.weight >= 0 &&
         !(d.method == Method::tun && d.tunnel.type == TunType::gue && d.tunnel.port == 0);
}

auto find_dest(Service& s, const DestKey& k) {
  return std::find_if(s.destinations.begin(), s.destinations.end(),
                      [&](const Destination& d) { return d.key == k; });
}

}  // namespace

int apply_to(Table& table, const Operation& op) {
  const ServiceKey& key = service_of(op);
  auto it = table.find(key);

  if (auto* o = std::get_if<AddService>(&op)) {
    if (it != table.end()) return EEXIST;
    if (!is_known_scheduler(o->service.scheduler)) return ENOENT;
    Service s = o->service;
    s.destinations.clear();
    table.emplace(key, std::move(s));
    return 0;
  }
  if (it == table.end()) return ESRCH;
  Service& svc = it->second;
  if (auto* o = std::get_if<EditService>(&op)) {
    if (!is_known_scheduler(o->service.scheduler)) return ENOENT;
    auto dests = std::move(svc.destinations);
    auto stats = std::move(svc.stats);  // the kernel's counters stay with the entry
    svc = o->service;
    svc.destinations = std::move(dests);
    svc.stats = std::move(stats);
    return 0;
  }
  if (std::holds_alternative<DelService>(op)) {
    table.erase(it);
    return 0;
  }
  if (auto* o = std::get_if<AddDest>(&op)) {
    if (find_dest(svc, o->dest.key) != svc.destinations.end()) return EEXIST;
    if (!valid(o->dest)) return EINVAL;
    svc.destinations.push_back(o->dest);
    return 0;
  }
  if (auto* o = std::get_if<EditDest>(&op)) {
    auto d = find_dest(svc, o->dest.key);
    if (d == svc.destinations.end()) return ENOENT;
    if (!valid(o->dest)) return EINVAL;
    auto counters = std::move(d->counters);  // an edit keeps the kernel's counters
    *d = o->dest;
    d->counters = std::move(counters);
    return 0;
  }
  auto d = find_dest(svc, std::get<DelDest>(op).dest);
  if (d == svc.destinations.end()) return ENOENT;
  svc.destinations.erase(d);
  return 0;
}

}  // namespace hd::ipvs
