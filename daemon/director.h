// SPDX-License-Identifier: GPL-2.0-or-later
// Wires the subsystems to the config, the control socket and the process:
// start, reload (validated whole, then applied as a difference, all or
// nothing: a subsystem that fails rolls every applied one back), stop.
#pragma once
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/loop.h"
#include "daemon/config/loader.h"
#include "daemon/control/server.h"
#include "daemon/events.h"
#include "daemon/overrides.h"
#include "daemon/subsystem.h"

namespace hd {

struct ReloadOutcome {
  bool ok = false;
  int generation = 0;               // the generation running afterwards
  std::vector<std::string> errors;  // config errors, or the subsystem's failure (+ rollback's)
};

class Director {
 public:
  // The production subsystems: real-server role, LVS (checks + IPVS), VRRP, wired together.
  static std::vector<std::unique_ptr<Subsystem>> standard_subsystems(Loop& loop);

  Director(Loop& loop, std::string config_path, config::Config cfg);
  // Tests give their own subsystems (started in this order, stopped in reverse).
  Director(Loop& loop, std::string config_path, config::Config cfg,
           std::vector<std::unique_ptr<Subsystem>> subsystems);
  ~Director();

  // Returns "" on success, else a one-line reason (the daemon then exits 1).
  std::string start();
  // SIGHUP or `hadirector reload`: re-read the file; invalid -> log every error, keep the old
  // config. Valid -> each subsystem applies the difference; if one fails, those applied are
  // reloaded back to the old config (the failed one too) and the old generation keeps running.
  ReloadOutcome reload();
  // The same, with the file read and parsed on a thread of its own (100,000 real servers
  // take a second to parse: the main loop keeps running the checks meanwhile), then applied
  // on the loop; `done` (may be empty) gets the outcome there. Requests that come while a
  // parse runs are answered together by the next one, which starts when it ends (the file
  // may have changed after the running parse read it).
  void request_reload(std::function<void(const ReloadOutcome&)> done);
  // Whether a request_reload() parse is running (tests).
  bool reload_parsing() const { return parser_.joinable(); }
  // SIGTERM/SIGINT: each VRRP Master hands over first (Subsystem::begin_stop; up to
  // Master_Down_Interval + handover_linger while the loop runs), then an orderly stop of
  // every subsystem, then the loop ends.
  void stop();

  // One control request from `peer` (daemon/control/protocol.h): the answer to send, and
  // whether the connection stays open for the event stream. handle_request: its text.
  control::Reply answer(const control::Peer& peer, const std::string& line);
  // A deferred answer (reload) is waited for, running the loop.
  std::string handle_request(const control::Peer& peer, const std::string& line);
  EventBus& events() { return events_; }
  std::string status_json(bool pretty) const;
  // The same document as steps: what the control socket's `status --json` writes over
  // several main-loop turns (at most ~2 ms a turn), so 100,000 real servers do not hold up
  // the checks.
  std::vector<JsonStep> status_steps() const;
  std::string status_text() const;
  // GET /metrics: the director's families, then each subsystem's, as steps (the endpoint
  // runs them a slice per main-loop turn), or at once.
  metrics::Steps metrics_steps() const;
  std::string metrics_text() const;
  // GET /healthz: "" when healthy, else every subsystem's reason.
  std::string unhealthy() const;
  const config::Config& config() const { return cfg_; }
  const Overrides& overrides() const { return overrides_; }

 private:
  void write_status(JsonWriter& w) const;
  // The ctl requests that change a real server's override.
  std::string change_real_server(const control::Peer& peer, const control::Command& c);
  // ctl drain --wait: the drain as above, answered when it ends (drain_changed), at once
  // when it has already ended.
  control::Reply drain_and_wait(const control::Peer& peer, const control::Command& c);
  void drain_changed(const std::string& id, const RealOverride* now, const std::string& why);
  void answer_drain_waiters_at_stop();  // busy: the daemon stops first
  struct DrainWaiter {
    control::Send send;
    TimePoint since;
  };
  std::multimap<std::string, DrainWaiter> drain_waiters_;  // by real-server id
  std::string change_announcement(const control::Peer& peer, const control::Command& c);
  std::string change_instance(const control::Peer& peer, const control::Command& c);
  // admin_group / read_group resolved, and the socket's mode set from them.
  std::string apply_access(const config::Config& cfg);
  void push_overrides();
  ReloadOutcome apply_reload(config::LoadResult result);
  void start_parse();
  void on_parsed(config::LoadResult&& result);
  Loop& loop_;
  std::string config_path_;
  config::Config cfg_;
  Overrides overrides_;  // before subsystems_: they keep a reference
  EventBus events_;      // likewise; its sink (control_) is detached in ~Director
  std::vector<std::unique_ptr<Subsystem>> subsystems_;
  control::Server control_;  // after subsystems_: its handler reaches them
  control::AccessPolicy access_;
  int generation_ = 1;
  double loaded_at_ = 0;
  double started_at_ = 0;
  int reloads_ok_ = 0;
  int reloads_failed_ = 0;
  bool degraded_ = false;  // a failed reload's rollback failed: subsystems run mixed configs
  std::vector<std::string> last_reload_errors_;
  bool stopping_ = false;
  std::unique_ptr<Timer> drain_timer_;
  TimePoint drain_deadline_{};
  // stop(): once no subsystem is handing over, stops them all (once); true from then on.
  bool stop_when_handed_over();
  bool handed_over_ = false;
  // request_reload(): the parser thread, the callbacks its result answers, those waiting
  // for the next parse, and the mailbox its result comes back through.
  std::thread parser_;
  std::vector<std::function<void(const ReloadOutcome&)>> parsing_for_;
  std::vector<std::function<void(const ReloadOutcome&)>> waiting_;
  std::unique_ptr<Mailbox<config::LoadResult>> parsed_;
  // A JSON document written a slice per loop turn and sent to its client as it is made
  // (control::Reply::streamed): `status --json` and `ctl show`.
  struct StatusJob {
    JsonWriter w;
    std::vector<JsonStep> steps;
    size_t next = 0;
    control::SendPart part;
    control::Send send;
    size_t queued = 0;  // bytes the connection had not sent at the last part
  };
  // Parts are sent once this much is written; a job whose client has this much unsent
  // waits until it has taken it.
  static constexpr size_t kStatusPart = 64 * 1024;
  static constexpr size_t kStatusQueued = 1024 * 1024;
  control::Reply stream_json(std::vector<JsonStep> steps, bool pretty);
  std::list<StatusJob> status_jobs_;
  std::unique_ptr<Timer> status_timer_;
  void write_status_slices();
  void finish_status_jobs();  // every job written to the end and answered, now
};

}  // namespace hd
