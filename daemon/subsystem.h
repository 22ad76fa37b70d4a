// SPDX-License-Identifier: GPL-2.0-or-later
// What the director needs from each subsystem (VRRP, checkers, IPVS,
// real-server role): start, apply a config difference, stop, report.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/metrics.h"
#include "daemon/config/model.h"

namespace hd {

class EventBus;
class Overrides;

class Subsystem {
 public:
  virtual ~Subsystem() = default;
  virtual std::string_view name() const = 0;
  // Returns "" on success, else one line saying what failed and how to fix it.
  virtual std::string start(const config::Config& cfg) = 0;
  // Called only with a valid new config; applies only what changed.
  virtual std::string reload(const config::Config& old_cfg, const config::Config& new_cfg) = 0;
  virtual void stop() = 0;
  // Before stop(): let go of what others must take over first (VRRP: every Master hands over
  // and lingers). The director calls stop() once handing_over() is false.
  virtual void begin_stop() {}
  virtual bool handing_over() const { return false; }
  // After stop(): true while work it started must still finish (e.g. notify hooks).
  virtual bool busy() const { return false; }
  // Writes this subsystem's section(s) of status: one or more key/value pairs of the
  // top-level object ("vrrp": {...}).
  virtual void status(JsonWriter& w) const = 0;
  // The same as steps written over several main-loop turns (core/json.h); by default one
  // step, status(). Those with thousands of entries slice them.
  virtual void status_steps(std::vector<JsonStep>& out) const {
    out.push_back([this](JsonWriter& w) {
      status(w);
      return true;
    });
  }
  // Appends human-readable lines.
  virtual void status_text(std::string& out) const = 0;
  // Writes this subsystem's Prometheus families (docs/metrics.md); idle ones write none.
  virtual void metrics(metrics::Writer&) const {}
  // The same as slices a scrape writes over several main-loop turns (metrics::Step); by
  // default one step, metrics(). Those with thousands of series slice them.
  virtual void metrics_steps(metrics::Steps& out) const {
    out.push_back([this](metrics::Writer& w) {
      metrics(w);
      return metrics::StepResult::done;
    });
  }
  // For /healthz: "" when this subsystem is where it should be, else why not (one line).
  virtual std::string unhealthy() const { return ""; }
  // The runtime overrides (hadirector ctl) changed, or are given before start(): each
  // subsystem applies its part. The store outlives the subsystem; it may record in it.
  virtual void set_overrides(Overrides&) {}
  // Where to publish what it sees happen (daemon/events.h); given once, before start().
  virtual void set_events(EventBus&) {}
};

}  // namespace hd
