// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/checker.h"

#include <set>

#include "checkers/syn_prober.h"
#include "core/hash.h"
#include "core/log.h"

namespace hd::checkers {

struct Checker::Check {
  Check(Checker& owner, std::string id_, SpecPtr spec_, Endpoint target_, TimePoint now)
      : id(std::move(id_)),
        spec(std::move(spec_)),
        target(target_),
        state(Hysteresis{spec->rise, spec->fall, spec->initial_up}, now),
        timer(owner.timers_->make([&owner, this] { owner.fire(*this); })) {}
  std::string id;
  SpecPtr spec;  // shared with the probe and with the checks that differ only in target
  Endpoint target;
  CheckState state;
  std::unique_ptr<Probe> probe;  // while a run goes on (or kept: keep_between_runs())
  std::unique_ptr<TimerSource::Handle> timer;
  TimePoint due;         // when the next run should start
  TimePoint started{};   // when the running (or last) probe started
  bool pending = false;  // came due while the previous run was still going
  bool stopped = false;
};

Checker::Checker(Loop& loop, OnChange on_change, Options options)
    : loop_(loop),
      on_change_(std::move(on_change)),
      options_(std::move(options)),
      loop_timers_(loop),
      timers_(options_.timers ? options_.timers : &loop_timers_),
      clock_(options_.clock ? options_.clock : &timers_->clock()),
      rng_(std::random_device{}()),
      ctx_(loop),
      reaper_(timers_->make([this] {
        // A spec's last holder is a check: only retiring one can leave a spec unheld.
        const bool retired = !retired_.empty();
        retired_.clear();
        finished_probes_.clear();
        if (retired) specs_.purge();
      })) {
  durations_.fill(metrics::Histogram(metrics::kDurationBounds));
  if (!options_.random)
    options_.random = [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); };
}

Checker::~Checker() {
  stop();
  retired_.clear();
  finished_probes_.clear();
}

namespace {

// The target apart from the spec: the spec without it is what checks share.
Endpoint take_target(Spec& s) {
  Endpoint ep = endpoint_of(s);
  s.address = IpAddress{};
  s.port = 0;
  return ep;
}

void mix(size_t& h, size_t v) { h = hash_mix(h, v); }

}  // namespace

size_t SpecPool::hash(const Spec& s) {
  size_t h = static_cast<size_t>(s.type);
  mix(h, static_cast<size_t>(s.interval.count()));
  mix(h, static_cast<size_t>(s.timeout.count()));
  mix(h, static_cast<size_t>(s.rise) * 31 + static_cast<size_t>(s.fall));
  mix(h, (s.initial_up ? 1 : 0) | (s.half_open ? 2 : 0) | (s.tls_verify ? 4 : 0) |
             (s.keepalive ? 8 : 0));
  mix(h, static_cast<size_t>(s.file_base_weight));
  mix(h, static_cast<size_t>(s.method) | static_cast<size_t>(s.dns_type) << 8);
  mix(h, static_cast<size_t>(s.connect_timeout.count()));
  if (s.source_address) mix(h, hash_address(*s.source_address));
  // Every string: checks that differ only in one (a script's argument naming its server, as
  // keepalived's misc_path configs do) must not share a bucket, or interning is quadratic.
  std::hash<std::string> str;
  for (const std::string* f : {&s.send, &s.expect, &s.path, &s.host, &s.body_contains,
                               &s.body_regex, &s.body_sha256, &s.ca_file, &s.sni, &s.helo_name,
                               &s.dns_name, &s.file_path})
    if (!f->empty()) mix(h, str(*f));
  for (auto& a : s.argv) mix(h, str(a));
  mix(h, s.expect_status.size() << 16 | s.exit_weights.size());
  return h;
}

SpecPtr SpecPool::intern(Spec&& s) {
  const size_t h = hash(s);
  auto [lo, hi] = pool_.equal_range(h);
  for (auto it = lo; it != hi; ++it)
    if (auto p = it->second.lock(); p && *p == s) return p;
  auto p = std::make_shared<const Spec>(std::move(s));
  pool_.emplace(h, p);
  return p;
}

void SpecPool::purge() {
  std::erase_if(pool_, [](const auto& e) { return e.second.expired(); });
}

std::unique_ptr<Checker::Check> Checker::make_check(Target t, Endpoint target, TimePoint now) {
  auto spec = specs_.intern(std::move(t.spec));
  return std::make_unique<Check>(*this, std::move(t.id), std::move(spec), target, now);
}

Duration Checker::first_start_offset(Duration interval) {
  double r = options_.random();
  if (!(r >= 0.0 && r < 1.0)) r = 0.0;
  return std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, std::nano>(static_cast<double>(interval.count()) * r));
}

void Checker::arm(Check& c, TimePoint now) {
  Duration after = c.due - now;
  c.timer->start(after > Duration::zero() ? after : Duration::zero());
}

void Checker::start(std::vector<Target> targets) {
  stop();
  update(std::move(targets));
}

void Checker::update(std::vector<Target> targets) {
  // update_part() with every running check that is not among the targets stopped.
  std::set<std::string_view> wanted;
  for (auto& t : targets) wanted.insert(t.id);
  std::vector<std::string> gone;
  for (auto& [id, c] : checks_)
    if (!wanted.count(id)) gone.emplace_back(id);
  update_part(std::move(targets), gone, /*whole=*/true);
}

void Checker::update_part(std::vector<Target> changed, const std::vector<std::string>& removed,
                          bool whole) {
  TimePoint t = now();
  size_t started = 0, restarted = 0, kept = 0, stopped = 0;
  for (auto& id : removed) {
    auto it = checks_.find(id);
    if (it == checks_.end()) continue;
    retire(std::move(it->second));
    checks_.erase(it);
    ++stopped;
  }
  std::set<std::string> seen;
  // Created now, with the offset of their first start into the interval. The offsets count
  // from when every check exists: building 10,000 takes a while (100+ ms on a slow machine),
  // and counted from the beginning the first starts would be late before they ever ran.
  std::vector<std::pair<Check*, Duration>> fresh;
  for (auto& target : changed) {
    if (!seen.insert(target.id).second) {
      ++duplicate_ids_;
      HD_LOG(warning, "checkers") << "duplicate check id " << target.id << ": ignored";
      continue;
    }
    auto it = checks_.find(target.id);
    const Endpoint ep = take_target(target.spec);
    if (it != checks_.end() && it->second->target == ep && *it->second->spec == target.spec) {
      ++kept;
      continue;
    }
    if (it != checks_.end()) {
      retire(std::move(it->second));
      checks_.erase(it);
      ++restarted;
    } else {
      ++started;
    }
    auto c = make_check(std::move(target), ep, t);
    fresh.emplace_back(c.get(), first_start_offset(c->spec->interval));
    const std::string_view key = c->id;  // the check's own id: the map holds no copy
    checks_.emplace(key, std::move(c));
  }
  TimePoint built = now();
  for (auto [c, offset] : fresh) {
    c->due = built + offset;
    arm(*c, now());
  }
  HD_LOG(info, "checkers") << checks_.size() << " checks: " << started << " new, " << restarted
                           << " restarted, " << kept << " kept, " << stopped << " stopped"
                           << (whole ? "" : " (the others untouched)");
}

void Checker::stop() {
  for (auto& [id, c] : checks_) retire(std::move(c));
  checks_.clear();
}

void Checker::retire(std::unique_ptr<Check> c) {
  c->stopped = true;
  c->timer->stop();
  if (c->probe) c->probe->cancel();
  retired_.push_back(std::move(c));
  reaper_->start(Duration::zero());
}

void Checker::fire(Check& c) {
  TimePoint t = now();
  if (c.probe && c.probe->running()) {
    ++stats_.overruns;
    c.pending = true;
    return;
  }
  launch(c, t);
}

void Checker::launch(Check& c, TimePoint t) {
  ++stats_.probes_started;
  stats_.lateness.record(t - c.due);
  if (options_.on_probe_start) options_.on_probe_start(c.id, c.due, t);
  c.due += c.spec->interval;
  if (c.due <= t) {
    // More than an interval behind (a stalled loop, a long overrun): drop the
    // missed runs instead of firing them back to back.
    auto behind = (t - c.due) / c.spec->interval + 1;
    stats_.skipped += static_cast<uint64_t>(behind);
    c.due += behind * c.spec->interval;
  }
  arm(c, t);
  c.started = t;
  Check* raw = &c;
  if (!c.probe) c.probe = options_.probes ? options_.probes(c.spec, c.target)
                                        : make_probe(ctx_, c.spec, c.target);
  c.probe->start([this, raw](Result r) { on_result(*raw, std::move(r)); });
}

void Checker::on_result(Check& c, Result r) {
  TimePoint t = now();
  ++results_by_reason_[static_cast<size_t>(r.reason)];
  durations_[static_cast<size_t>(c.spec->type)].observe(
      std::chrono::duration<double>(t - c.started).count());
  if (r.inconclusive()) note_inconclusive(c, r, t);
  if (auto tr = c.state.on_result(r, t)) report(c, *tr);
  // report() may have stopped this check (update/stop from on_change).
  if (c.pending && !c.stopped) {
    c.pending = false;
    launch(c, now());
  } else if (!c.stopped && c.probe && !c.probe->running() && !c.probe->keep_between_runs()) {
    // Its caller's stack still runs in it: freed on the next loop turn.
    finished_probes_.push_back(std::move(c.probe));
    reaper_->start(Duration::zero());
  }
}

void Checker::note_inconclusive(const Check& c, const Result& r, TimePoint t) {
  ++stats_.inconclusive;
  ++inconclusive_unlogged_;
  if (inconclusive_logged_ && t - *inconclusive_logged_ < std::chrono::seconds(10)) return;
  HD_LOG(warning, "checkers") << inconclusive_unlogged_ << " probe(s) could not run on this host, "
                              << "last for " << c.id << " (" << r.to_string()
                              << "): real servers keep their state";
  inconclusive_logged_ = t;
  inconclusive_unlogged_ = 0;
}

void Checker::report(const Check& c, const Transition& t) {
  Change ch{c.id, t.up, t.result.to_string(), t.weight, t.at, t.weight_only()};
  if (ch.weight_only) {
    HD_LOG(info, "checkers") << "real server " << ch.id << " weight "
                             << (ch.weight ? std::to_string(*ch.weight) : "configured") << " ("
                             << ch.reason << ")";
  } else if (ch.up) {
    HD_LOG(info, "checkers") << "real server " << ch.id << " up (" << ch.reason << ")";
  } else {
    HD_LOG(warning, "checkers") << "real server " << ch.id << " down (" << ch.reason << ")";
  }
  if (on_change_) on_change_(ch);
}

size_t Checker::probes_held() const {
  size_t n = 0;
  for (auto& [id, c] : checks_) n += c->probe != nullptr;
  return n;
}

std::optional<Spec> Checker::spec(const std::string& id) const {
  auto it = checks_.find(id);
  if (it == checks_.end()) return std::nullopt;
  Spec s = *it->second->spec;
  s.address = it->second->target.address;
  s.port = it->second->target.port;
  return s;
}

size_t Checker::shared_specs() const { return specs_.size(); }

const CheckState* Checker::state(const std::string& id) const {
  auto it = checks_.find(id);
  return it == checks_.end() ? nullptr : &it->second->state;
}

std::vector<std::string> Checker::ids() const {
  std::vector<std::string> out;
  for (auto& [id, c] : checks_) out.emplace_back(id);
  return out;
}

void Checker::metrics(metrics::Writer& w) const {
  metrics::Steps steps;
  metrics_steps(steps, nullptr);
  metrics::run_all(steps, w);
}

void Checker::metrics_steps(metrics::Steps& out, std::function<bool()> valid) const {
  // About 1,000 series a slice: well under a millisecond of the main loop.
  constexpr size_t kPerStep = 300;
  using Entry = decltype(checks_)::value_type;
  auto family = [&](auto header, auto body) {
    out.push_back(metrics::map_family(checks_, kPerStep, valid, header, body));
  };
  family(
      [](metrics::Writer& w) {
        w.gauge("hadirector_check_up",
                "1 while the check holds its real server up (after rise), 0 after fall.");
      },
      [](metrics::Writer& w, const Entry& e) {
        w.sample({{"check", e.first}}, e.second->state.up() ? 1 : 0);
      });
  family(
      [](metrics::Writer& w) {
        w.gauge("hadirector_check_consecutive_results",
                "The current streak of equal results: progress towards rise (when down) or fall "
                "(when up).");
      },
      [](metrics::Writer& w, const Entry& e) {
        w.sample({{"check", e.first}}, e.second->state.consecutive());
      });
  family(
      [](metrics::Writer& w) {
        w.counter("hadirector_check_results_total",
                  "Probe results by outcome; inconclusive: the probe could not run on this host.");
      },
      [](metrics::Writer& w, const Entry& e) {
        const CheckState& s = e.second->state;
        w.sample({{"check", e.first}, {"result", "success"}},
                 static_cast<double>(s.checks() - s.failures() - s.inconclusive()));
        w.sample({{"check", e.first}, {"result", "failure"}}, static_cast<double>(s.failures()));
        w.sample({{"check", e.first}, {"result", "inconclusive"}},
                 static_cast<double>(s.inconclusive()));
      });
  family(
      [](metrics::Writer& w) {
        w.counter("hadirector_check_transitions_total",
                  "Changes of the check's state: up/down, and weight changes a script check "
                  "reports.");
      },
      [](metrics::Writer& w, const Entry& e) {
        w.sample({{"check", e.first}}, static_cast<double>(e.second->state.transitions()));
      });
  // The rest is small: one step.
  out.push_back([this, valid](metrics::Writer& w) {
    if (valid && !valid()) return metrics::StepResult::stale;
    w.counter("hadirector_check_results_by_reason_total",
              "Results of all checks by reason (ok, connect refused, timeout, bad status, ...).");
    for (size_t r = 0; r < kReasonCount; ++r)
      if (results_by_reason_[r])
        w.sample({{"reason", to_string(static_cast<Reason>(r))}},
                 static_cast<double>(results_by_reason_[r]));
    w.histogram("hadirector_check_duration_seconds", "How long probes took, by check type.");
    for (size_t t = 0; t < kCheckTypes; ++t)
      if (durations_[t].count())
        w.observe({{"type", to_string(static_cast<CheckType>(t))}}, durations_[t]);
    w.counter("hadirector_check_probes_total", "Probes started.");
    w.sample(static_cast<double>(stats_.probes_started));
    w.counter("hadirector_check_overruns_total",
              "Runs that came due while the previous run of the same check was still going.");
    w.sample(static_cast<double>(stats_.overruns));
    w.counter("hadirector_check_skipped_total",
              "Runs dropped because a check fell an interval behind.");
    w.sample(static_cast<double>(stats_.skipped));
    w.gauge("hadirector_check_start_lateness_seconds",
            "How late probes started against their schedule, since start: p50, p99, max.");
    auto sec = [](Duration d) { return std::chrono::duration<double>(d).count(); };
    w.sample({{"stat", "p50"}}, sec(stats_.lateness.percentile(50)));
    w.sample({{"stat", "p99"}}, sec(stats_.lateness.percentile(99)));
    w.sample({{"stat", "max"}}, sec(stats_.lateness.max()));
    return metrics::StepResult::done;
  });
}

void Checker::status(JsonWriter& w) const {
  std::vector<JsonStep> steps;
  status_steps(steps);
  run_all(steps, w);
}

void Checker::status_steps(std::vector<JsonStep>& out) const {
  struct Cursor {
    std::optional<std::string> last;  // the last id written
    int up = 0, down = 0;
  };
  auto cur = std::make_shared<Cursor>();
  out.push_back([this, cur](JsonWriter& w) {
    if (!cur->last) {
      w.begin_object();
      w.key("targets").begin_array();
    }
    TimePoint t = now();
    double wall = wall_seconds();
    auto it = cur->last ? checks_.upper_bound(*cur->last) : checks_.begin();
    for (size_t n = 0; it != checks_.end() && n < kStatusTargetsPerStep; ++it, ++n) {
      const auto& [id, c] = *it;
      const CheckState& s = c->state;
      (s.up() ? cur->up : cur->down)++;
      w.begin_object();
      w.field("id", id);
      w.field("type", to_string(c->spec->type));
      w.field("state", s.up() ? "up" : "down");
      w.key("weight");
      if (s.weight())
        w.value(*s.weight());
      else
        w.null();
      w.key("last_result");
      if (s.last_result())
        w.value(s.last_result()->to_string());
      else
        w.null();
      w.field("since", wall - std::chrono::duration<double>(t - s.since()).count());
      w.key("reason");  // what caused the change at `since`
      if (s.cause())
        w.value(s.cause()->to_string());
      else
        w.null();
      w.field("consecutive", s.consecutive());
      w.field("checks", s.checks());
      w.field("failures", s.failures());
      w.field("transitions", s.transitions());
      w.field("inconclusive", s.inconclusive());
      w.end_object();
      cur->last = id;
    }
    if (!cur->last) cur->last = std::string();  // none at all: the head is written
    return it == checks_.end();
  });
  out.push_back([this, cur](JsonWriter& w) {
    write_status_tail(w, cur->up, cur->down);
    return true;
  });
}

void Checker::write_status_tail(JsonWriter& w, int up, int down) const {
  auto ms = [](Duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  w.end_array();
  w.field("up", up);
  w.field("down", down);
  w.key("scheduler").begin_object();
  w.field("probes", stats_.probes_started);
  w.field("overruns", stats_.overruns);
  w.field("skipped", stats_.skipped);
  w.field("inconclusive", stats_.inconclusive);
  w.field("late_p50_ms", ms(stats_.lateness.percentile(50)));
  w.field("late_p99_ms", ms(stats_.lateness.percentile(99)));
  w.field("late_max_ms", ms(stats_.lateness.max()));
  w.end_object();
  w.key("syn_probes");
  if (const SynProber* p = ctx_.syn_prober(); p && p->unprivileged()) {
    w.begin_object();
    w.field("unprivileged", true);  // no CAP_NET_RAW: tcp checks run as full connects
    w.end_object();
  } else if (p && p->port_base()) {
    w.begin_object();
    w.field("source_ports", std::to_string(p->port_base()) + "-" +
                                std::to_string(p->port_base() + SynProber::kPorts - 1));
    w.field("sent", p->stats().sent);
    w.field("answers", p->stats().answers);
    w.field("unmatched", p->stats().unmatched);
    w.field("send_drops", p->stats().send_drops);
    w.field("source_lookups", p->stats().source_lookups);
    w.end_object();
  } else {
    w.null();
  }
  w.end_object();
}

}  // namespace hd::checkers
