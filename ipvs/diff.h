// SPDX-License-Identifier: GPL-2.0-or-later
// The minimal list of operations that turns the kernel's table into the one
// we want. Pure: the same function serves start-up adoption (a restart with an
// unchanged config plans nothing), reload and drift repair.
#pragma once
#include <set>
#include <vector>

#include "ipvs/model.h"
#include "ipvs/operation.h"

namespace hd::ipvs {

struct Plan {
  std::vector<Operation> ops;
  // Services in `actual` that are neither desired nor owned: someone else's
  // (ipvsadm, another daemon). Never touched; reported for status.
  std::vector<ServiceKey> foreign;
};

// `owned`: services this process programmed before and may delete (the
// desired keys are always owned as well). Anything else in `actual` is foreign.
//
// Minimal: one operation per differing service or destination; a changed
// scheduler, flag or persistence setting is EditService (connections survive),
// a changed weight, threshold, forwarding method or tunnel is EditDest; a
// deleted service takes its destinations with it (no DelDest for them).
//
// Order: AddService/EditService, then AddDest/EditDest, then DelDest, then
// DelService. A destination is added after its service exists, and a service
// that swaps its destinations (quorum lost: reals out, sorry server in) is never
// left without one in between. Within each step, services in key order and
// destinations in the desired order (deletions in key order).
Plan plan(const Table& desired, const Table& actual, const std::set<ServiceKey>& owned);

}  // namespace hd::ipvs
