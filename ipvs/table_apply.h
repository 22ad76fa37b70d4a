// SPDX-License-Identifier: GPL-2.0-or-later
// One Operation executed on an in-memory Table the way the kernel executes it,
// with the kernel's errno for what it would refuse. The fake backend is built
// on it, and the reconciler uses it to keep its view of the kernel current
// between dumps.
#pragma once
#include "ipvs/model.h"
#include "ipvs/operation.h"

namespace hd::ipvs {

// 0, or EEXIST (service/destination exists), ESRCH (no such service), ENOENT
// (no such destination; unknown scheduler), EINVAL (negative weight, gue
// tunnel without a port). The table is unchanged on error.
int apply_to(Table& table, const Operation& op);

}  // namespace hd::ipvs
