// SPDX-License-Identifier: GPL-2.0-or-later
// The health-check scheduler: owns every check on one Loop, runs each probe
// every `interval`, feeds results through its CheckState and reports state
// changes as data ("real server X down (reason)"), logging one line each.
//
// Timing: a check's runs are `interval` apart measured start to start, on a
// fixed grid from its first run (a slow probe does not push later runs back).
// A run never overlaps the previous one: if the previous is still going when
// the next is due, the next starts the moment it ends (counted as an
// overrun). A check more than one interval behind skips the missed runs
// rather than bursting. The first run of each check waits a random delay in
// [0, interval), so checks started together spread out. Lateness (actual
// start - scheduled start) is recorded for every run.
#pragma once
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "checkers/check_state.h"
#include "checkers/latency_histogram.h"
#include "checkers/probe.h"
#include "checkers/spec.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/timers.h"

namespace hd::checkers {

// A check's state changed: up/down, or (weight_only) the weight of an up
// server changed (script exit_weights).
struct Change {
  std::string id;
  bool up = false;
  std::string reason;  // the result that decided it: "connect refused", "bad status 503", ...
  std::optional<int> weight;
  TimePoint at;
  bool weight_only = false;
};

// One Spec for every check that differs from it only in its target: interned by value,
// held by the checks (and their probes), forgotten once none holds it.
class SpecPool {
 public:
  SpecPtr intern(Spec&& s);  // `s` with its target cleared (address {}, port 0)
  void purge();              // drops the entries no check holds any more
  size_t size() const { return pool_.size(); }

 private:
  static size_t hash(const Spec& s);
  std::unordered_multimap<size_t, std::weak_ptr<const Spec>> pool_;
};

struct SchedulerStats {
  uint64_t probes_started = 0;
  uint64_t overruns = 0;      // a run came due while the previous one was still going
  uint64_t skipped = 0;       // runs dropped because the check fell an interval behind
  uint64_t inconclusive = 0;  // probes that could not run here (Result::inconclusive)
  LatencyHistogram lateness;  // actual start - scheduled start, every run
};

class Checker {
 public:
  using OnChange = std::function<void(const Change&)>;
  struct Options {
    // The timers that schedule the runs, and the time they count in. Default: libev
    // timers on the Checker's loop, steady time. Tests pass SimTimers (core/timers.h)
    // with a `probes` factory to run the scheduler on simulated time, exactly.
    TimerSource* timers = nullptr;
    // Time for state transitions and lateness. Must agree with the timers: tests inject
    // a clock on the real loop only to check what is computed from it. Default: the
    // timers' clock.
    const Clock* clock = nullptr;
    // Makes the probe for a check's spec. Default: make_probe() on the Checker's loop.
    std::function<std::unique_ptr<Probe>(const SpecPtr&, const Endpoint&)> probes;
    // Uniform in [0, 1): the first-run jitter, as a fraction of the interval.
    // Default: a seeded mt19937_64.
    std::function<double()> random;
    // Told of every run as it starts (benchmarks, tests).
    std::function<void(const std::string& id, TimePoint due, TimePoint started)> on_probe_start;
  };

  // on_change is called from the loop; it may call update() or stop(), but
  // must not destroy the Checker.
  Checker(Loop& loop, OnChange on_change, Options options);
  Checker(Loop& loop, OnChange on_change) : Checker(loop, std::move(on_change), Options{}) {}
  ~Checker();
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  // Replaces whatever runs with these targets, all from their initial state.
  void start(std::vector<Target> targets);
  // By id: an unchanged target keeps its state and its schedule; a changed
  // spec restarts that check from its initial state; a new id starts; a
  // missing id stops. Duplicate ids: the first wins (counted).
  void update(std::vector<Target> targets);
  // The same for part of the targets, in time proportional to the part: each of `changed`
  // is kept, restarted or started as update() would; each id in `removed` stops; every
  // other check runs on untouched (a reload that changed one virtual server of 10,000).
  void update_part(std::vector<Target> changed, const std::vector<std::string>& removed,
                   bool whole = false);  // whole: update() (only the log line differs)
  // Stops every check (running probes are abandoned, scripts killed).
  void stop();

  // {"targets": [{"id", "type", "state", "weight", "last_result", "since",
  //   "consecutive", "checks", "failures", "transitions", "inconclusive"}...], "up", "down",
  //   "scheduler": {"probes", "overruns", "skipped", "inconclusive", "late_p50_ms",
  //   "late_p99_ms", "late_max_ms"}}
  void status(JsonWriter& w) const;
  // The same document as steps (core/json.h) of at most kStatusTargetsPerStep targets each;
  // a step goes on from the last id it wrote, so checks added or removed between steps
  // show or not, and nothing is written twice.
  void status_steps(std::vector<JsonStep>& out) const;
  static constexpr size_t kStatusTargetsPerStep = 250;

  const CheckState* state(const std::string& id) const;
  // The spec check `id` runs (as given to start()/update()), or nullopt.
  std::optional<Spec> spec(const std::string& id) const;
  // How many distinct specs the checks share (their targets apart).
  size_t shared_specs() const;
  std::vector<std::string> ids() const;
  size_t size() const { return checks_.size(); }
  // Checks holding a probe now: those running, and those whose probe keeps between runs.
  size_t probes_held() const;
  const SchedulerStats& stats() const { return stats_; }
  // Prometheus families (docs/metrics.md): per check its state, streak, results and
  // transitions; for all checks the failures by reason, probe durations by check type and
  // the scheduler's counters.
  void metrics(metrics::Writer& w) const;
  // The same as steps, a slice of checks at a time (metrics::Step). `valid` must turn false
  // once this Checker is gone: the steps read it by reference.
  void metrics_steps(metrics::Steps& out, std::function<bool()> valid) const;
  uint64_t duplicate_ids() const { return duplicate_ids_; }

 private:
  struct Check;
  // `t.spec` with its target taken out (`target`).
  std::unique_ptr<Check> make_check(Target t, Endpoint target, TimePoint now);
  Duration first_start_offset(Duration interval);  // the random first-start jitter
  void fire(Check& c);
  void launch(Check& c, TimePoint now);
  void on_result(Check& c, Result r);
  void report(const Check& c, const Transition& t);
  void retire(std::unique_ptr<Check> c);
  void arm(Check& c, TimePoint now);
  void note_inconclusive(const Check& c, const Result& r, TimePoint now);
  void write_status_tail(JsonWriter& w, int up, int down) const;  // after the targets
  TimePoint now() const { return clock_->now(); }

  Loop& loop_;
  OnChange on_change_;
  Options options_;
  LoopTimers loop_timers_;
  TimerSource* timers_;
  const Clock* clock_;
  std::mt19937_64 rng_;
  ProbeContext ctx_;
  SpecPool specs_;
  // Keyed by a view of each check's own id (a check is freed only after its entry).
  std::map<std::string_view, std::unique_ptr<Check>, std::less<>> checks_;
  // Stopped checks, freed on a later loop turn (never inside a callback of theirs).
  std::vector<std::unique_ptr<Check>> retired_;
  // Probes done with their run (keep_between_runs() false), freed on a later loop turn too.
  std::vector<std::unique_ptr<Probe>> finished_probes_;
  std::unique_ptr<TimerSource::Handle> reaper_;
  SchedulerStats stats_;
  // Every result of every check by reason (per check would cost 150 bytes a check).
  std::array<uint64_t, kReasonCount> results_by_reason_{};
  std::array<metrics::Histogram, kCheckTypes> durations_;
  // Inconclusive probes are logged at most once per 10 s, with how many since the last line.
  std::optional<TimePoint> inconclusive_logged_;
  uint64_t inconclusive_unlogged_ = 0;
  uint64_t duplicate_ids_ = 0;
};

}  // namespace hd::checkers
