// SPDX-License-Identifier: GPL-2.0-or-later
// The drill's scenarios as a table: each one is a fault (act), how long it
// lasts, its repair (heal), the budget it must keep, and any check of its own.
// A new scenario is a new row in scenarios.cpp.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "drill/drill.h"
#include "drill/params.h"

namespace hd::drill {

struct Times {
  double fault = 0;  // when the fault took effect
  double heal = 0;   // when the repair took effect (0: healed after the measurement)
  double end = 0;    // end of the measurement
};

struct Scenario {
  std::string name, description;
  // act: breaks the lab; returns the time the fault took effect (drill/clock.h).
  std::function<double(Drill&)> act;
  // The act is one command in the lab whose fault lands somewhere inside it (the links set
  // down in one `ip -batch`, a veth deleted: 0.3-0.5 s under the emulator here, its effect
  // near the end): the time budgets count from the act's end, the figures still from its
  // start (Result::act_s). Not for an act that waits on a daemon (a graceful stop's handover
  // is the daemon's time), nor for one of several commands (the first would act early).
  bool lab_command_act = false;
  // How long the fault stands before the heal (heal_first) or the end of the measurement.
  std::function<double(const LabParams&)> fault_s;
  // heal: repairs the lab; returns when the repair took effect.
  std::function<double(Drill&)> heal;
  // true: heal, wait settle_s, then measure (the repair is part of what is judged);
  // false: measure, then heal (the repair only restores the lab for the next scenario).
  bool heal_first = false;
  std::function<double(const LabParams&)> settle_s;
  // Two Masters are by design while the fault stands (a partition): count from the heal.
  bool split_by_design = false;
  // The real server broken on purpose ("rs1".."rs3"), whose long-lived connections are
  // counted apart; "" for none.
  std::string failing_server;
  std::function<Budget(const LabParams&)> budget;
  // The scenario's own findings, added to r.violations (optional).
  std::function<void(Drill&, const Times&, Result&)> judge;
  // Only in DR mode (it needs the real-server role, which NAT real servers do not run).
  bool dr_only = false;
};

const std::vector<Scenario>& scenarios();
const Scenario* find_scenario(const std::string& name);
// Every scenario that runs in `mode`, in table order.
std::vector<std::string> scenario_names(Mode mode);

}  // namespace hd::drill
