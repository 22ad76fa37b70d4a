// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/drill.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "daemon/config/writer.h"
#include "daemon/control/server.h"
#include "drill/clock.h"
#include "drill/lab_config.h"
#include "drill/report.h"
#include "drill/scenarios.h"
#include "drill/text.h"
#include "nftables/render.h"

namespace hd::drill {

extern std::atomic<bool> g_interrupted;


Drill::Drill(Options o, LabParams p, std::map<std::string, Budget> b)
    : o_(std::move(o)), p_(std::move(p)), budgets_(std::move(b)) {}

Result Drill::measure(const Scenario& sc, double t_fault, double t_end, double t_heal) {
  Result r;
  r.name = sc.name;
  r.description = sc.description;
  auto ev = traffic_.between(t_fault - 0.5, t_end);
  double last_fail_start = -1;
  double failing_until = t_heal > 0 ? t_heal : t_end;
  for (auto& e : ev) {
    if (e.kind != 'R') continue;
    ++r.requests;
    if (!e.ok) {
      ++r.failed;
      if (r.failures.size() < 5)
        r.failures.push_back(strf("%+.3fs request: %s", e.t0 - t_fault, e.reason.c_str()));
      last_fail_start = std::max(last_fail_start, e.t0);
      if (e.t0 < failing_until) r.failing_after = std::max(r.failing_after, e.t0 - t_fault);
    } else {
      ++r.served_by[e.server];
      if (e.t1 - e.t0 > 0.5) ++r.slow;
    }
  }
  if (last_fail_start > 0) {
    double recovered = t_end;
    for (auto& e : ev)
      if (e.kind == 'R' && e.ok && e.t0 > last_fail_start) recovered = std::min(recovered, e.t1);
    r.outage_s = std::max(0.0, recovered - t_fault);
    if (t_heal > 0) r.after_heal_s = std::max(0.0, recovered - t_heal);
  }
  // Long-lived slots: broken, and by whom. A slot whose connection was on the server the
  // scenario broke on purpose is counted apart (its end is the scenario's design).
  std::map<int, std::string> last_server;
  for (auto& e : traffic_.between(t_fault - 30, t_fault))
    if (e.kind == 'L' && e.ok) last_server[e.conn] = e.server;
  std::map<int, int> state;  // 0 fine, 1 broken, 2 broken on the failing server
  for (auto& e : ev) {
    if (e.kind != 'L') continue;
    int& s = state[e.conn];
    if (e.ok) {
      last_server[e.conn] = e.server;
      continue;
    }
    std::string on = e.server.empty() ? last_server[e.conn] : e.server;
    if (r.failures.size() < 5)
      r.failures.push_back(strf("%+.3fs long-lived %d on %s: %s", e.t1 - t_fault, e.conn,
                                on.empty() ? "?" : on.c_str(), e.reason.c_str()));
    bool deliberate = !sc.failing_server.empty() && on == sc.failing_server;
    if (!deliberate) s = 1;
    else if (s == 0) s = 2;
  }
  r.long_total = o_.longs;
  for (auto& [c, s] : state) {
    r.long_broken += s == 1;
    r.long_on_failed_server += s == 2;
  }
  double count_from = sc.split_by_design && t_heal > 0 ? t_heal + 2 * p_.advert + 0.1 : t_fault - 0.5;
  // Two Masters count when two samples in a row (50 ms apart, each a status request to both)
  // see them: a preemption has both MASTER for the one-way delay of the winner's advert, which
  // a single sample can straddle; a split that matters lasts longer.
  std::string last;
  for (auto& s : sampler_.between(t_fault - 0.5, t_end)) {
    std::string now_states = "A " + s.a + " B " + s.b;
    if (now_states == last) continue;
    last = now_states;
    if (r.timeline.size() < 12) r.timeline.push_back(strf("%+.3fs ", s.t - t_fault) + now_states);
  }
  int previous = 0;
  for (auto& s : sampler_.between(count_from, t_end)) {
    int m = (s.a == "MASTER") + (s.b == "MASTER");
    r.max_masters = std::max(r.max_masters, std::min(m, std::max(previous, 1)));
    previous = m;
    ++r.samples;
  }
  r.ipvs_table = master_ipvs_table();
  return r;
}

Result Drill::play(const Scenario& sc) {
  progress("scenario " + sc.name + ": waiting for steady state");
  bool steady = wait_steady(20);
  // The previous scenario's restore ends here.
  if (!windows_.empty() && windows_.back().second == 0) windows_.back().second = now();
  if (!steady) {
    Result r;
    r.name = sc.name;
    r.passed = false;
    r.violations.push_back("lab never reached steady state (A MASTER, B BACKUP, 3 real servers)");
    return r;
  }
  sleep_s(1.0);
  windows_.push_back({now() - 0.5, 0});
  progress(sc.name + ": " + sc.description);
  Times t;
  t.fault = sc.act(*this);
  const double act_s = now() - t.fault;
  sleep_s(std::max(0.0, t.fault + sc.fault_s(p_) - now()));
  Result r;
  if (sc.heal_first) {
    t.heal = sc.heal(*this);
    sleep_s(sc.settle_s ? sc.settle_s(p_) : 0);
    t.end = now();
    r = measure(sc, t.fault, t.end, t.heal);
  } else {
    t.end = now();
    r = measure(sc, t.fault, t.end, 0);
  }
  r.act_s = act_s;
  r.act_allowance_s = sc.lab_command_act ? act_s : 0;
  if (sc.judge) sc.judge(*this, t, r);
  if (!sc.heal_first && sc.heal) sc.heal(*this);
  if (r.max_masters > 1 && !sc.split_by_design) r.violations.push_back("two Masters at once");
  const Budget& b = budgets_[sc.name];
  r.budget = b;
  // Figures count from just before the act; where the act is a lab command the budgets
  // count from its end (Scenario::lab_command_act): time no daemon could have shortened.
  if (b.max_outage > 0 && r.outage_s > b.max_outage + r.act_allowance_s)
    r.violations.push_back(strf("outage %.2fs above its budget of %.2fs (+%.2fs for the act)",
                                r.outage_s, b.max_outage, r.act_allowance_s));
  if (b.max_after_heal > 0 && r.after_heal_s > b.max_after_heal)
    r.violations.push_back(strf("VIP answered %.2fs after the heal, budget %.2fs", r.after_heal_s,
                                b.max_after_heal));
  if (b.max_failed >= 0 && r.failed > b.max_failed)
    r.violations.push_back(strf("%d failed requests, budget %d", r.failed, b.max_failed));
  if (b.max_long_broken >= 0 && r.long_broken > b.max_long_broken)
    r.violations.push_back(strf("%d long-lived connections broken, budget %d", r.long_broken,
                                b.max_long_broken));
  if (b.max_failing_after > 0 && r.failing_after > b.max_failing_after + r.act_allowance_s)
    r.violations.push_back(strf("requests still failing %.2fs after the fault, budget %.2fs "
                                "(+%.2fs for the act)", r.failing_after, b.max_failing_after,
                                r.act_allowance_s));
  r.passed = r.violations.empty();
  progress(sc.name + (r.passed ? ": passed" : ": FAILED"));
  if (!r.passed) {  // what a log needs to tell a slow lab from a slow daemon
    for (auto& v : r.violations) progress(sc.name + ":   " + v);
    progress(strf("%s:   the act took %.3fs; first failures:", sc.name.c_str(), r.act_s));
    for (auto& f : r.failures) progress(sc.name + ":     " + f);
    progress(sc.name + ":   VI_1 states sampled (from the fault):");
    for (auto& e : r.timeline) progress(sc.name + ":     " + e);
  }
  // The restore (a restarted director preempting back, say) belongs to this window too; it
  // ends when the next scenario finds the lab steady again or when traffic stops.
  return r;
}

bool Drill::director_alive(int i) { return still_running(directors_[i]); }

// Scenarios in a random order (from the seed) with random pauses until the time is up.
// After each: both daemons must still run (a scenario that stops one restarts it; any other
// exit is a crash), and at the end director B, never restarted, must not have grown by more
// than 16 descriptors or by a quarter of its memory plus 8 MiB. Budgets, two Masters and
// failures outside the windows are judged per scenario as in a plain drill.
void Drill::soak(const std::function<void(const std::string&)>& play_one) {
  soak_.on = true;
  soak_.seed = o_.seed;
  std::mt19937_64 rng(o_.seed);
  progress("soak: " + std::to_string(static_cast<long>(o_.soak_s)) + " s, seed " +
           std::to_string(o_.seed) + " (replay with --seed " + std::to_string(o_.seed) + ")");
  double start = now(), end = start + o_.soak_s;
  std::tie(soak_.rss_kb_before, soak_.fds_before) = footprint(directors_[1]);
  while (now() < end && !g_interrupted) {
    const std::string& name = o_.scenarios[rng() % o_.scenarios.size()];
    play_one(name);
    ++soak_.faults[name];
    for (int i = 0; i < 2; ++i) {
      if (director_alive(i)) continue;
      auto breach = strf("t=%.1fs after %s: director %s is not running; restarted",
                         now() - start, name.c_str(), i == 0 ? "A" : "B");
      soak_.breaches.push_back(breach);
      progress("soak: BREACH: " + breach);
      start_director(i);
    }
    // Both kernel tables equal the desired one within a reconcile interval (1 s) of the lab
    // being steady again.
    if (wait_steady(20)) {
      for (int i = 0; i < 2; ++i) {
        std::string diff;
        for (double until = now() + 1.5; !(diff = ipvs_mismatch(i)).empty() && now() < until;)
          sleep_s(0.1);
        if (diff.empty()) continue;
        auto breach = strf("t=%.1fs after %s: director %s's IPVS table is not the desired one: %s",
                           now() - start, name.c_str(), i == 0 ? "A" : "B", diff.c_str());
        soak_.breaches.push_back(breach);
        progress("soak: BREACH: " + breach);
      }
      ++soak_.table_checks;
    }
    sleep_s(std::uniform_real_distribution<double>(0, 2)(rng));
  }
  soak_.duration_s = now() - start;
  std::tie(soak_.rss_kb_after, soak_.fds_after) = footprint(directors_[1]);
  if (soak_.fds_before >= 0 && soak_.fds_after > soak_.fds_before + 16)
    soak_.breaches.push_back("director B's descriptors grew from " +
                             std::to_string(soak_.fds_before) + " to " +
                             std::to_string(soak_.fds_after));
  if (soak_.rss_kb_before > 0 &&
      soak_.rss_kb_after > soak_.rss_kb_before + soak_.rss_kb_before / 4 + 8192)
    soak_.breaches.push_back("director B's memory grew from " +
                             std::to_string(soak_.rss_kb_before) + " kB to " +
                             std::to_string(soak_.rss_kb_after) + " kB");
}

int Drill::run() {
  char tmpl[] = "/tmp/hd-drill-XXXXXX";
  lab_.workdir = mkdtemp(tmpl);
  std::mt19937 rng(std::random_device{}());
  char px[8];
  std::snprintf(px, sizeof px, "hd%04x", static_cast<unsigned>(rng() & 0xffff));
  lab_.prefix = px;
  lab_.mode = o_.mode;
  std::vector<Result> results;
  int rc = 0;
  try {
    progress(std::string("building the lab (") + (o_.mode == Mode::nat ? "NAT" : "DR") +
             ", namespaces " + lab_.prefix + "-*)");
    lab_.build();
    if (o_.mode == Mode::dr) {
      // The real servers' side of DR is hadirector's real-server role (the VIP on lo, ARP
      // hidden). rs1's runtime directory, where the role keeps its state file, is a small
      // tmpfs of its own, so disk-full can fill it.
      std::string dir = lab_.workdir + "/rs1-run";
      must({"mkdir", "-p", dir});
      must({"mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "hd-drill-rs1", dir});
      tmpfs_ = dir;
      for (int i = 0; i < 3; ++i) start_real_role(i);
    }
    for (int i = 0; i < 3; ++i) start_real(i);
    if (p_.conntrackd)
      for (int i : {0, 1}) start_conntrackd(i);
    start_director(0);
    sleep_s(0.3);
    start_director(1);
    sampler_.start(socket_of(0), socket_of(1));
    if (!wait_steady(30)) throw std::runtime_error("the lab never reached steady state; logs in " + lab_.workdir);
    progress("lab is up; starting client traffic");
    traffic_start_ = now();
    traffic_.start(in_ns(lab_.ns("client"),
                         {o_.self, "client", "--target", lab_.vip() + ":80", "--rate",
                          std::to_string(o_.rate), "--long", std::to_string(o_.longs),
                          "--timeout-ms", "1000", "--long-interval-ms", "200"}));
    sleep_s(1.5);
    auto play_one = [&](const std::string& name) {
      const Scenario* sc = find_scenario(name);
      try {
        results.push_back(play(*sc));
      } catch (const std::exception& e) {
        Result r;
        r.name = name;
        r.passed = false;
        r.violations.push_back(std::string("could not run: ") + e.what());
        results.push_back(r);
        progress(name + ": FAILED (" + e.what() + ")");
      }
    };
    if (o_.soak_s > 0) {
      soak(play_one);
    } else {
      for (auto& name : o_.scenarios) {
        if (g_interrupted) break;
        play_one(name);
      }
    }
    if (!windows_.empty() && windows_.back().second == 0) {
      // Let the last restore settle before traffic stops.
      wait_steady(20);
      windows_.back().second = now();
    }
    traffic_end_ = now();
    traffic_.stop();
    sampler_.stop();
    for (auto& e : traffic_.between(traffic_start_, traffic_end_ + 5)) {
      if (e.kind != 'R') continue;
      ++requests_;
      bool in = false;
      for (auto& [a, b] : windows_) in = in || (e.t0 >= a && e.t0 < b);
      if (!e.ok && !in) ++failed_outside_;
    }
    Report rep{o_.mode, p_, o_.rate, o_.longs, results, requests_, failed_outside_, soak_};
    std::string out = o_.json ? report_json(rep) : report_text(rep);
    if (o_.report_markers) std::printf("%s\n", kReportBegin);
    std::fputs(out.c_str(), stdout);
    if (o_.report_markers) std::printf("%s\n", kReportEnd);
    std::fflush(stdout);
    rc = rep.passed() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "drill: error: %s\n", e.what());
    rc = 2;
  }
  traffic_.stop();
  sampler_.stop();
  if (o_.keep) {
    std::fprintf(stderr, "drill: --keep: the lab stays up. Enter a namespace with:\n");
    for (auto& n : lab_.namespaces) std::fprintf(stderr, "  ip netns exec %s bash\n", n.c_str());
    std::fprintf(stderr, "configs and logs: %s\nremove it with: for n in $(ip netns list | grep -o '^%s-[a-z0-9]*'); do ip netns del $n; done\n",
                 lab_.workdir.c_str(), lab_.prefix.c_str());
  } else {
    for (int i = 0; i < 2; ++i) stop_director(i, SIGTERM);
    for (int i = 0; i < 2; ++i) stop_conntrackd(i);
    lab_.destroy();
    if (!tmpfs_.empty()) drill::run({"umount", tmpfs_});
    if (rc == 0) must({"rm", "-rf", lab_.workdir});
    else std::fprintf(stderr, "drill: logs kept in %s\n", lab_.workdir.c_str());
  }
  return rc;
}

}  // namespace hd::drill
