// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/report.h"

#include <cstdio>

#include "core/json.h"
#include "drill/text.h"

namespace hd::drill {

bool Report::passed() const {
  for (auto& r : results)
    if (!r.passed) return false;
  return failed_outside_windows == 0 && soak.breaches.empty();
}

std::string report_json(const Report& rep) {
  const LabParams& p = rep.params;
  JsonWriter w(true);
  w.begin_object();
  w.field("mode", rep.mode == Mode::nat ? "nat" : "dr");
  w.field("vrrp_version", p.version);
  w.field("advert_interval_s", p.advert).field("master_down_interval_s", p.mdi());
  w.field("skew_time_s", p.skew());
  w.field("check_interval_s", p.check_interval).field("check_timeout_s", p.check_timeout);
  w.field("rise", p.rise).field("fall", p.fall);
  w.field("rate_per_s", rep.rate);
  w.key("config_notes").begin_array();
  for (auto& n : p.notes) w.value(n);
  w.end_array();
  w.key("scenarios").begin_array();
  for (auto& r : rep.results) {
    w.begin_object();
    w.field("name", r.name).field("description", r.description).field("passed", r.passed);
    w.field("outage_s", r.outage_s).field("requests", r.requests).field("failed", r.failed);
    w.field("slow", r.slow).field("long_lived", r.long_total);
    w.field("failing_after_s", r.failing_after).field("after_heal_s", r.after_heal_s);
    w.key("budget").begin_object();
    w.field("max_outage_s", r.budget.max_outage).field("max_failed", r.budget.max_failed);
    w.field("max_failing_after_s", r.budget.max_failing_after);
    w.field("max_after_heal_s", r.budget.max_after_heal);
    w.field("max_long_lived_broken", r.budget.max_long_broken);
    w.end_object();
    w.field("long_lived_broken", r.long_broken);
    w.field("long_lived_on_failed_server", r.long_on_failed_server);
    w.field("max_masters", r.max_masters);
    w.field("master_samples", r.samples);
    w.key("served_by").begin_object();
    for (auto& [k, v] : r.served_by) w.field(k, v);
    w.end_object();
    w.key("failures").begin_array();
    for (auto& f : r.failures) w.value(f);
    w.end_array();
    w.field("act_s", r.act_s).field("act_allowance_s", r.act_allowance_s);
    w.key("timeline").begin_array();
    for (auto& e : r.timeline) w.value(e);
    w.end_array();
    w.key("violations").begin_array();
    for (auto& v : r.violations) w.value(v);
    w.end_array();
    w.field("ipvs_table", r.ipvs_table);
    w.end_object();
  }
  w.end_array();
  w.field("requests", rep.requests).field("failed_outside_windows", rep.failed_outside_windows);
  if (rep.soak.on) {
    w.key("soak").begin_object();
    w.field("seed", rep.soak.seed).field("duration_s", rep.soak.duration_s);
    w.key("faults").begin_object();
    for (auto& [k, v] : rep.soak.faults) w.field(k, v);
    w.end_object();
    w.key("breaches").begin_array();
    for (auto& b : rep.soak.breaches) w.value(b);
    w.end_array();
    w.field("table_checks", rep.soak.table_checks);
    w.field("fds_before", rep.soak.fds_before).field("fds_after", rep.soak.fds_after);
    w.field("rss_kb_before", rep.soak.rss_kb_before).field("rss_kb_after", rep.soak.rss_kb_after);
    w.end_object();
  }
  w.field("passed", rep.passed());
  w.end_object();
  return w.str() + "\n";
}

std::string report_text(const Report& rep) {
  const LabParams& p = rep.params;
  std::string out;
  out += strf("\nhadirector drill, %s mode: VRRP adverts %.0f ms (Master_Down_Interval %.0f ms), "
       "checks every %.0f ms, %.0f requests/s + %d long-lived connections\n\n",
       rep.mode == Mode::nat ? "NAT" : "DR", p.advert * 1e3, p.mdi() * 1e3,
       p.check_interval * 1e3, rep.rate, rep.longs);
  for (auto& n : p.notes) out += strf("  --config: %s\n", n.c_str());
  // long-lived: connections kept / slots; those on a server failed on purpose in brackets.
  out += strf("%-14s %-7s %9s %8s %7s %5s %13s %8s\n", "scenario", "result", "outage", "requests",
       "failed", "slow", "long-lived", "masters");
  for (auto& r : rep.results) {
    std::string lived = std::to_string(r.long_total - r.long_broken - r.long_on_failed_server) +
                        "/" + std::to_string(r.long_total);
    if (r.long_on_failed_server)
      lived += " (+" + std::to_string(r.long_on_failed_server) + ")";
    out += strf("%-14s %-7s %8.2fs %8d %7d %5d %13s %8d\n", r.name.c_str(), r.passed ? "ok" : "FAIL",
         r.outage_s, r.requests, r.failed, r.slow, lived.c_str(), r.max_masters);
    for (auto& v : r.violations) out += strf("    ! %s\n", v.c_str());
    if (!r.passed)
      for (auto& f : r.failures) out += strf("      %s\n", f.c_str());
  }
  out += strf("\nlong-lived: kept/slots; (+N): connections on the real server the scenario failed on "
       "purpose, which end by design\n");
  out += strf("%d requests in all; %d failed outside the scenarios' windows (steady state)%s\n",
       rep.requests, rep.failed_outside_windows, rep.failed_outside_windows ? "  <-- FAIL" : "");
  if (rep.soak.on) {
    out += strf("\nsoak: %.0f s, seed %llu; faults:", rep.soak.duration_s,
         static_cast<unsigned long long>(rep.soak.seed));
    for (auto& [k, v] : rep.soak.faults) out += strf(" %s x%d", k.c_str(), v);
    out += strf("\n  IPVS tables compared with the desired one %d times", rep.soak.table_checks);
    out += strf("\n  director B: %ld -> %ld descriptors, %ld -> %ld kB resident\n", rep.soak.fds_before,
         rep.soak.fds_after, rep.soak.rss_kb_before, rep.soak.rss_kb_after);
    for (auto& b : rep.soak.breaches) out += strf("  BREACH: %s\n", b.c_str());
    if (rep.soak.breaches.empty()) out += strf("  no invariant breached\n");
  }
  if (!rep.results.empty()) out += "\nfinal IPVS table:\n" + rep.results.back().ipvs_table;
  return out;
}

}  // namespace hd::drill
