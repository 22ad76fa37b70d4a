// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/desired.h"

#include <algorithm>

namespace hd::ipvs {
namespace {

const RealHealth kAlwaysUp{};
const AdminOverride kNoOverride{};

const RealHealth& health_of(const HealthMap& health, const std::string& id) {
  auto it = health.find(id);
  return it == health.end() ? kAlwaysUp : it->second;
}

const AdminOverride& admin_of(const AdminMap& admin, const std::string& id) {
  if (admin.empty()) return kNoOverride;
  auto it = admin.find(id);
  return it == admin.end() ? kNoOverride : it->second;
}

int32_t full_weight(const RealSpec& r, const RealHealth& h, const AdminOverride& a) {
  return std::max<int32_t>(0, a.weight.value_or(h.weight_override.value_or(r.dest.weight)));
}

bool ramping(int32_t weight, Duration slow_start, TimePoint up_since, TimePoint now) {
  return weight > 1 && slow_start > Duration::zero() && now - up_since < slow_start;
}

}  // namespace

int32_t slow_start_weight(int32_t weight, Duration slow_start, TimePoint up_since, TimePoint now) {
  if (!ramping(weight, slow_start, up_since, now)) return weight;
  Duration elapsed = std::max(now - up_since, Duration::zero());  // a clock step backwards
  // 128 bits: a large weight times a long ramp in nanoseconds overflows 64.
  __int128 step = static_cast<__int128>(weight - 1) * elapsed.count() / slow_start.count();
  return 1 + static_cast<int32_t>(step);
}

Service desired_service(const VirtualServiceSpec& spec, const HealthMap& health, TimePoint now,
                        std::optional<QuorumState>& quorum, const AdminMap& admin) {
  Service svc;
  svc.key = spec.key;
  svc.scheduler = spec.scheduler;
  svc.flags = spec.flags & ~(kPersistent | kHashed);
  if (spec.persistence.count() > 0) svc.flags |= kPersistent;
  svc.timeout = static_cast<uint32_t>(std::max<int64_t>(0, spec.persistence.count()));
  svc.netmask = spec.netmask;
  svc.pe_name = spec.pe_name;

  int live = 0;
  std::vector<bool> draining;  // per destination in svc.destinations
  for (const auto& real : spec.reals) {
    const RealHealth& h = health_of(health, real.id);
    const AdminOverride& a = admin_of(admin, real.id);
    if (a.mode == AdminOverride::Mode::out) continue;
    int32_t weight = full_weight(real, h, a);
    Destination d = real.dest;
    if (h.up && a.mode == AdminOverride::Mode::drain) {
      d.weight = 0;
    } else if (h.up) {
      live += weight;
      d.weight = slow_start_weight(weight, spec.slow_start, h.up_since, now);
    } else if (spec.inhibit_on_failure) {
      d.weight = 0;
    } else {
      continue;
    }
    draining.push_back(h.up && a.mode == AdminOverride::Mode::drain);
    svc.destinations.push_back(std::move(d));
  }

  int threshold = std::max(spec.quorum, 1);
  bool up = live >= threshold;
  if (quorum) up = quorum->up ? live >= threshold : live >= threshold + spec.hysteresis;
  quorum = QuorumState{up, live};
  if (!up && spec.sorry) {
    // The sorry server takes the new connections; servers an operator is draining stay
    // at weight 0 beside it, so the connections the drain waits for are not cut, and so
    // does every other server of an inhibit_on_failure service (it never removes one;
    // keepalived keeps them too). A real server that is the sorry server is the sorry
    // server (keepalived: "matches sorry server ... setting on sorry server").
    std::vector<Destination> keep{*spec.sorry};
    for (size_t i = 0; i < svc.destinations.size(); ++i) {
      if (svc.destinations[i].key == spec.sorry->key) continue;
      if (draining[i] || spec.inhibit_on_failure) {
        svc.destinations[i].weight = 0;
        keep.push_back(std::move(svc.destinations[i]));
      }
    }
    svc.destinations = std::move(keep);
  }
  return svc;
}

Table desired(const std::vector<VirtualServiceSpec>& specs, const HealthMap& health, TimePoint now,
              QuorumStates& quorum, const AdminMap& admin) {
  Table table;
  QuorumStates next;
  for (const auto& spec : specs) {
    std::optional<QuorumState> q;
    if (auto prev = quorum.find(spec.key); prev != quorum.end()) q = prev->second;
    table[spec.key] = desired_service(spec, health, now, q, admin);
    next[spec.key] = *q;
  }
  quorum = std::move(next);
  return table;
}

std::optional<TimePoint> next_change(const std::vector<VirtualServiceSpec>& specs,
                                     const HealthMap& health, TimePoint now,
                                     const AdminMap& admin) {
  std::optional<TimePoint> earliest;
  for (const auto& spec : specs) {
    for (const auto& real : spec.reals) {
      const RealHealth& h = health_of(health, real.id);
      const AdminOverride& a = admin_of(admin, real.id);
      if (a.mode != AdminOverride::Mode::none) continue;
      int32_t weight = full_weight(real, h, a);
      if (!h.up || !ramping(weight, spec.slow_start, h.up_since, now)) continue;
      // The weight becomes w + 1 once (weight - 1) * elapsed >= w * slow_start.
      int32_t w = slow_start_weight(weight, spec.slow_start, h.up_since, now);
      __int128 num = static_cast<__int128>(w) * spec.slow_start.count();
      __int128 den = weight - 1;
      Duration elapsed(static_cast<Duration::rep>((num + den - 1) / den));
      TimePoint at = h.up_since + elapsed;
      if (at <= now) at = now + Duration(1);
      if (!earliest || at < *earliest) earliest = at;
    }
  }
  return earliest;
}

}  // namespace hd::ipvs
