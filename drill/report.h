// SPDX-License-Identifier: GPL-2.0-or-later
// The drill's report: a table for people, a JSON document for machines
// (schema in hadirector(8)). Only the report goes to standard output.
#pragma once
#include <string>
#include <vector>

#include "drill/drill.h"
#include "drill/params.h"

namespace hd::drill {

// Inside the VM, the guest's stdout and stderr reach the host as one stream; the report is
// framed by these lines so the host side can print it alone on its stdout.
inline constexpr const char* kReportBegin = "@@HD_DRILL_REPORT_BEGIN@@";
inline constexpr const char* kReportEnd = "@@HD_DRILL_REPORT_END@@";

struct Report {
  Mode mode;
  const LabParams& params;
  double rate;
  int longs;
  const std::vector<Result>& results;
  int requests = 0;                // in all, steady state included
  int failed_outside_windows = 0;  // failures in steady state
  const SoakReport& soak;
  bool passed() const;
};

std::string report_json(const Report& r);
std::string report_text(const Report& r);

}  // namespace hd::drill
