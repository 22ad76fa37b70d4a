// SPDX-License-Identifier: GPL-2.0-or-later
// What the IPVS table should be, from the virtual services' configuration and
// the real servers' health. Pure: the same inputs always give the same table.
//
// Rules, per virtual service:
//  * A real server without a health entry is up (a server with no check).
//  * Its weight is the operator's runtime weight when set (hadirector ctl
//    weight), else weight_override when set (e.g. from a script check), else
//    the configured weight.
//  * Operator overrides (AdminMap, by real-server id): `out` (ctl maint, or a
//    drain that completed) omits the server; `drain` keeps an up server with
//    weight 0 (established and persistent connections go on, no new ones),
//    adding nothing to quorum, whatever inhibit_on_failure says.
//  * Down: removed, or kept with weight 0 when inhibit_on_failure (existing
//    connections drain, no new ones).
//  * Slow start: a server that came up less than slow_start ago gets
//        1 + floor((weight - 1) * (now - up_since) / slow_start)
//    i.e. a linear ramp from 1 at up_since to the full weight at
//    up_since + slow_start, rounded down (never above the ramp); weights 0
//    and 1 do not ramp. next_change() says when the ramp next moves a weight.
//  * Quorum: live weight = sum of the full (not ramped) weights of up servers.
//    Quorum is lost when live < max(quorum, 1) and regained when
//    live >= max(quorum, 1) + hysteresis; the first evaluation of a service has
//    no history and is simply live >= max(quorum, 1). (With quorum = 0 a service
//    thus falls back to its sorry server once no server is live, as keepalived does.)
//  * Quorum lost and a sorry server configured: the sorry server is the only
//    destination (the remaining live servers are taken out, as keepalived
//    does; their established connections continue), beside the servers an
//    operator is draining, which stay at weight 0 until their drain ends. Quorum lost without a
//    sorry server: the live servers stay (some capacity beats none).
#pragma once
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "ipvs/model.h"

namespace hd::ipvs {

struct RealSpec {
  std::string id;    // key into the health map; unique across all services
  Destination dest;  // with its configured weight
};

struct VirtualServiceSpec {
  ServiceKey key;
  std::string scheduler = "wlc";
  uint32_t flags = 0;  // kOnePacket and scheduler bits; kPersistent follows `persistence`
  std::chrono::seconds persistence{0};  // 0: not persistent
  std::optional<uint8_t> netmask;       // persistence granularity (prefix length)
  std::string pe_name;
  int quorum = 0;
  int hysteresis = 0;
  std::optional<Destination> sorry;
  bool inhibit_on_failure = false;
  Duration slow_start = Duration::zero();
  std::vector<RealSpec> reals;
};

struct RealHealth {
  bool up = true;
  std::optional<int> weight_override;
  // When the server last went from down to up. A server found up at start-up
  // should carry TimePoint{} (long ago), so that a restart does not ramp.
  TimePoint up_since{};
};
using HealthMap = std::unordered_map<std::string, RealHealth>;

// What an operator set at run time for one real server (hadirector ctl).
struct AdminOverride {
  enum class Mode { none, drain, out };
  Mode mode = Mode::none;
  std::optional<int32_t> weight;  // runtime weight (before slow start)
  friend bool operator==(const AdminOverride&, const AdminOverride&) = default;
};
using AdminMap = std::unordered_map<std::string, AdminOverride>;

struct QuorumState {
  bool up = true;
  int live_weight = 0;  // at the last evaluation
  friend bool operator==(const QuorumState&, const QuorumState&) = default;
};
// Carried from one call to the next (hysteresis needs the previous state).
// desired() adds services it sees and drops those no longer specified; a
// caller that wants "quorum lost" events compares the map before and after.
using QuorumStates = std::map<ServiceKey, QuorumState>;

Table desired(const std::vector<VirtualServiceSpec>& specs, const HealthMap& health, TimePoint now,
              QuorumStates& quorum, const AdminMap& admin = {});

// One service of desired(), for a caller that keeps the table and updates only the services
// whose real servers changed: its entry, and `quorum` (its state at the last evaluation, or
// nullopt the first time) becomes the new state. desired() is this for every spec.
Service desired_service(const VirtualServiceSpec& spec, const HealthMap& health, TimePoint now,
                        std::optional<QuorumState>& quorum, const AdminMap& admin = {});

// The weight of a server with full weight `weight` that came up at `up_since`.
int32_t slow_start_weight(int32_t weight, Duration slow_start, TimePoint up_since, TimePoint now);

// The earliest time after `now` at which desired() gives a different table
// because of slow start alone; nullopt when no server is ramping.
std::optional<TimePoint> next_change(const std::vector<VirtualServiceSpec>& specs,
                                     const HealthMap& health, TimePoint now,
                                     const AdminMap& admin = {});

}  // namespace hd::ipvs
