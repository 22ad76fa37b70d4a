// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's side of VRRP: turns config::VrrpInstance into the engine's
// InstanceConfig, runs the engine (its own thread), receives transitions on the
// main loop (notify hooks, IPVS sync role) and renders status.
#pragma once
#include <memory>

#include "checkers/checker.h"
#include "core/loop.h"
#include "daemon/handover_forwarding.h"
#include "daemon/track_files.h"
#include "daemon/vrrp_hooks.h"
#include "daemon/subsystem.h"
#include "vrrp/engine.h"

namespace hd {

vrrp::InstanceConfig to_engine_config(const config::VrrpInstance& vi);
// Marks each instance with the sync group it belongs to.
void set_sync_groups(const config::Config& cfg, std::vector<vrrp::InstanceConfig>& instances);

class VrrpSubsystem final : public Subsystem {
 public:
  explicit VrrpSubsystem(Loop& main_loop);
  ~VrrpSubsystem() override;
  std::string_view name() const override { return "vrrp"; }
  std::string start(const config::Config& cfg) override;
  std::string reload(const config::Config& old_cfg, const config::Config& new_cfg) override;
  void stop() override;
  void begin_stop() override;
  bool handing_over() const override;
  bool busy() const override { return hooks_.busy(); }
  void status(JsonWriter& w) const override;
  void status_text(std::string& out) const override;
  void metrics(metrics::Writer& w) const override;
  std::string unhealthy() const override;
  void set_events(EventBus& e) override { events_ = &e; }
  // hadirector ctl hold / failover / release: each held instance and its sync group's members.
  void set_overrides(Overrides& o) override;
  // Told of every transition, on the main loop (the IPVS sync daemon follows one instance).
  void set_listener(std::function<void(const std::string&, vrrp::State)> f) {
    listener_ = std::move(f);
  }
  // Told, on the main loop, when a live Master is about to hand over to an instance, when
  // the instance took over from it and when that is over (the LVS side's handover
  // forwarding, daemon/handover_forwarding.h).
  void set_takeover_listener(std::function<void(const TakeoverNotice&)> f) {
    takeover_listener_ = std::move(f);
  }
  // The notice a transition makes for the handover forwarding (pure), or none: follow for a
  // Backup's follow notice (ended when it follows nobody); master when it took over from a
  // live Master, until half a second before that Master's linger ends (ours:
  // handover_linger is set alike on both directors; at least half of it); ended for any
  // other state but BACKUP (a Backup's follow notice comes with it).
  static std::optional<TakeoverNotice> takeover_notice(const vrrp::Transition& t,
                                                       const config::VrrpInstance& vi);

  // Effective priority and fault reason of an instance from its track scripts' states
  // (keepalived's rules): weight 0 failing -> fault; weight > 0 added while the script
  // succeeds; weight < 0 added while it fails. Track files (keepalived's too): weight 0 and
  // a value other than 0 -> fault; else value x weight is added, and below -253 faults.
  // Clamped to 1..254 (255 stays 255).
  struct Tracking {
    int priority;
    std::string fault;
    int delta = 0;  // before clamping
  };
  static Tracking tracking(const config::VrrpInstance& vi, const config::Config& cfg,
                           const std::map<std::string, bool>& script_up,
                           const std::map<std::string, bool>& vs_up = {},
                           const std::map<std::string, long long>& file_values = {});
  // Quorum of every virtual server (from the LVS subsystem).
  void on_quorum(const std::map<std::string, bool>& vs_up);

 private:
  void on_transition(vrrp::Transition&& t);
  void start_tracker(const config::Config& cfg);
  void push_tracking();
  Loop& loop_;
  Mailbox<vrrp::Transition> transitions_;
  vrrp::Engine engine_;
  NotifyHooks hooks_;
  std::map<std::string, config::Notify> notify_;
  std::function<void(const TakeoverNotice&)> takeover_listener_;
  bool started_ = false;
  // The config less its virtual servers (config::without_virtual_servers): what VRRP reads.
  config::Config cfg_;
  std::unique_ptr<checkers::Checker> tracker_;
  std::map<std::string, bool> script_up_;
  TrackFiles files_;
  std::map<std::string, bool> vs_up_;
  std::function<void(const std::string&, vrrp::State)> listener_;
  EventBus* events_ = nullptr;
  Overrides* overrides_ = nullptr;
  std::map<std::string, bool> applied_holds_;  // instances the engine holds now (-> failover)
  // The held instances of the store with their sync groups' members (-> failover).
  std::map<std::string, bool> wanted_holds() const;
  void apply_holds();
  // begin_stop(): until when handing_over() waits for the engine (a taker's Master_Down_
  // Interval and the linger, with a margin); nullopt before begin_stop().
  std::optional<SteadyClock::time_point> handover_deadline_;
  mutable bool handover_timed_out_ = false;
};

}  // namespace hd
