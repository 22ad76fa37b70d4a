// SPDX-License-Identifier: GPL-2.0-or-later
// The Director's read side: status (JSON, text, in slices off the main loop's turn),
// /metrics steps and the /healthz verdict.
#include "daemon/director.h"

#include <unistd.h>

#include "core/json.h"
#include "core/memory.h"
#include "core/version.h"
#include "daemon/lvs_subsystem.h"
#include "daemon/metrics_subsystem.h"
#include "daemon/realserver_subsystem.h"
#include "daemon/vrrp_subsystem.h"

namespace hd {

std::string Director::status_json(bool pretty) const {
  JsonWriter w(pretty);
  run_all(status_steps(), w);
  return w.str();
}

std::vector<JsonStep> Director::status_steps() const {
  std::vector<JsonStep> steps;
  steps.push_back([this](JsonWriter& w) {
    write_status(w);
    return true;
  });
  for (auto& s : subsystems_) s->status_steps(steps);
  steps.push_back([](JsonWriter& w) {
    w.end_object();
    return true;
  });
  return steps;
}

control::Reply Director::stream_json(std::vector<JsonStep> steps, bool pretty) {
  // Written a slice per loop turn (at most ~2 ms of it), sent to the client as it is made.
  return control::Reply::streamed(
      [this, steps = std::move(steps), pretty](control::SendPart part, control::Send send) mutable {
        status_jobs_.push_back(
            StatusJob{JsonWriter(pretty), std::move(steps), 0, std::move(part), std::move(send)});
        status_jobs_.back().w.reserve(kStatusPart + kStatusPart / 4);
        if (!status_timer_)
          status_timer_ = std::make_unique<Timer>(loop_, [this] { write_status_slices(); });
        if (!status_timer_->active()) status_timer_->start(Duration::zero());
      });
}

void Director::finish_status_jobs() {
  for (auto& job : status_jobs_) {
    for (; job.next < job.steps.size(); ++job.next)
      while (!job.steps[job.next](job.w)) {
      }
    std::string text = job.w.take();
    text += '\n';
    job.send(std::move(text));
  }
  status_jobs_.clear();
}

void Director::write_status_slices() {
  const auto until = SteadyClock::now() + std::chrono::milliseconds(2);
  bool writing = false;  // a job went on this turn (else each waits for its client)
  for (auto it = status_jobs_.begin(); it != status_jobs_.end() && SteadyClock::now() < until;) {
    StatusJob& job = *it;
    bool gone = false;
    // A part goes to the client whenever kStatusPart is written; a client that has not taken
    // kStatusQueued holds its job back (asked again with an empty part each turn).
    auto send_part = [&](std::string text) {
      auto q = job.part(std::move(text));
      gone = !q;
      job.queued = q.value_or(0);
    };
    if (job.queued > kStatusQueued) send_part(std::string());
    while (!gone && job.queued <= kStatusQueued && job.next < job.steps.size() &&
           SteadyClock::now() < until) {
      writing = true;
      if (job.steps[job.next](job.w)) ++job.next;
      if (job.w.str().size() >= kStatusPart) send_part(job.w.take());
    }
    if (gone) {
      it = status_jobs_.erase(it);
      continue;
    }
    if (job.next < job.steps.size()) {
      ++it;  // out of time, or its client lags
      continue;
    }
    std::string text = job.w.take();
    text += '\n';
    job.send(std::move(text));
    it = status_jobs_.erase(it);
  }
  if (!status_jobs_.empty())
    status_timer_->start(writing ? Duration::zero() : std::chrono::milliseconds(1));
}

// The document's head: the director's own fields, then the subsystems write theirs
// (status_steps), then the object ends.
void Director::write_status(JsonWriter& w) const {
  w.begin_object();
  w.field("schema", 1);
  w.field("version", kVersion);
  w.field("pid", static_cast<int64_t>(getpid()));
  w.field("router_id", cfg_.global.router_id);
  w.field("uptime_s", wall_seconds() - started_at_);
  w.key("config").begin_object();
  w.field("file", config_path_);
  w.field("generation", generation_);
  w.field("loaded_at", loaded_at_);
  w.field("log_level", std::string(log::level_name(cfg_.global.log_level)));
  w.field("dataplane", config::to_string(cfg_.global.dataplane));
  w.field("vrrp_instances", cfg_.vrrp_instances.size());
  w.field("virtual_servers", cfg_.virtual_servers.size());
  w.end_object();
  w.key("reloads").begin_object();
  w.field("ok", reloads_ok_);
  w.field("failed", reloads_failed_);
  w.field("rollback_failed", degraded_);
  w.key("last_errors").begin_array();
  for (auto& e : last_reload_errors_) w.value(e);
  w.end_array();
  w.end_object();
  const auto& cs = control_.stats();
  w.key("control").begin_object();
  w.field("accepted", cs.accepted).field("accept_errors", cs.accept_errors);
  w.field("accept_backoffs", cs.accept_backoffs).field("refused", cs.refused);
  w.field("timed_out", cs.timed_out);
  w.field("event_subscribers", control_.subscribers()).field("events_cut", cs.events_cut);
  w.field("events_published", events_.published());
  w.end_object();
  w.key("overrides");
  overrides_.status(w);
  w.key("holds");
  overrides_.holds_status(w);
  w.key("withdrawals");
  overrides_.withdrawals_status(w);
}

metrics::Steps Director::metrics_steps() const {
  metrics::Steps steps;
  steps.push_back([this](metrics::Writer& w) {
    w.gauge("hadirector_build_info", "The running hadirector's version (value 1).");
    w.sample({{"version", kVersion}}, 1);
    w.gauge("hadirector_start_time_seconds", "When the daemon started (Unix time).");
    w.sample(started_at_);
    w.gauge("hadirector_config_generation", "1 at start, +1 per applied reload.");
    w.sample(generation_);
    w.gauge("hadirector_config_loaded_time_seconds", "When the running config was applied.");
    w.sample(loaded_at_);
    w.counter("hadirector_reloads_total", "Reloads by outcome.");
    w.sample({{"result", "ok"}}, reloads_ok_);
    w.sample({{"result", "failed"}}, reloads_failed_);
    w.gauge("hadirector_reload_rollback_failed",
            "1 when a failed reload could not be undone everywhere (restart the daemon).");
    w.sample(degraded_ ? 1 : 0);
    return metrics::StepResult::done;
  });
  for (auto& s : subsystems_) s->metrics_steps(steps);
  return steps;
}

std::string Director::metrics_text() const {
  metrics::Writer w;
  // Subsystems may change between slices only when the loop runs: not here.
  metrics::run_all(metrics_steps(), w);
  return w.take();
}

std::string Director::unhealthy() const {
  if (stopping_) return "stopping";
  if (degraded_) return "a failed reload could not be rolled back everywhere";
  std::string why;
  for (auto& s : subsystems_) {
    auto w = s->unhealthy();
    if (!w.empty()) why += (why.empty() ? "" : "; ") + std::string(s->name()) + ": " + w;
  }
  return why;
}

std::string Director::status_text() const {
  std::string out;
  out += "hadirector " + std::string(kVersion) + " pid " + std::to_string(getpid()) +
         " router_id " + cfg_.global.router_id + "\n";
  out += "config " + config_path_ + " generation " + std::to_string(generation_) + " (reloads ok " +
         std::to_string(reloads_ok_) + ", failed " + std::to_string(reloads_failed_) + ")\n";
  for (auto& e : last_reload_errors_) out += "  last reload error: " + e + "\n";
  if (degraded_)
    out += "  WARNING: a failed reload could not be rolled back everywhere: restart the daemon\n";
  for (auto& [id, o] : overrides_.reals())
    out += "override " + id + ": " + describe(o) + " (set by " + o.by + ")\n";
  for (auto& [name, h] : overrides_.holds())
    out += "vrrp instance " + name + ": " + to_string(h.mode) + " (set by " + h.by + ")\n";
  for (auto& s : subsystems_) s->status_text(out);
  return out;
}

}  // namespace hd
