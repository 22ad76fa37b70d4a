// SPDX-License-Identifier: GPL-2.0-or-later
// A real server's check as the checkers library runs it. In hd_config so that the loader
// can run the probes' own validate() on exactly what will run.
#pragma once
#include "checkers/spec.h"
#include "daemon/config/model.h"

namespace hd::config {

// `port` is the real server's (or the virtual server's) port; connect_address and
// connect_port replace the target's address and port.
// `weight`: the real server's configured weight (a file check moves it).
checkers::Spec to_check_spec(const Check& c, const IpAddress& address, int port, int weight = 1);

}  // namespace hd::config
