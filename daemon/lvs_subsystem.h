// SPDX-License-Identifier: GPL-2.0-or-later
// Virtual servers: the health checkers and the IPVS reconciler, both on the
// main loop. Check results travel as typed changes (checkers::Change) into
// the health map; the reconciler alone turns config + health into IPVS
// operations. Also runs the kernel's connection sync daemon: the backup role
// always, the master role from the first time one VRRP instance is MASTER.
//
// The IPVS backend and the clock are injected: production opens the kernel's
// table over netlink (open_netlink_backend) with a RealClock; unit tests pass a
// FakeBackend and a ManualClock.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "checkers/checker.h"
#include "core/clock.h"
#include "core/loop.h"
#include "daemon/conntrackd_sync.h"
#include "daemon/handover_forwarding.h"
#include "daemon/lvs_config.h"
#include "daemon/subsystem.h"
#include "ipvs/backend.h"
#include "ipvs/desired.h"
#include "ipvs/reconciler.h"

namespace hd {

// Opens the IPVS backend; called by start() with dataplane = "kernel" and services
// configured. An error is start()'s error, as it stands.
using BackendOpener = std::function<ipvs::Result<std::unique_ptr<ipvs::Backend>>()>;
// The production opener: the kernel's IPVS over generic netlink (ipvs::NetlinkBackend).
ipvs::Result<std::unique_ptr<ipvs::Backend>> open_netlink_backend();
// dataplane = "nftables": the nftables table (nft::NftablesBackend).
ipvs::Result<std::unique_ptr<ipvs::Backend>> open_nftables_backend();
// Removes the nftables table an earlier run left, where nf_tables is loaded (an IPVS-only
// host never loads it for this): "" when there was none, else what was done.
std::string remove_leftover_nftables();

class LvsSubsystem final : public Subsystem {
 public:
  // `clock` (which must outlive the subsystem) dates health changes and drives slow start;
  // the checker reads it too, so a change's time and the ramp agree.
  LvsSubsystem(Loop& loop, BackendOpener open_backend, const Clock& clock);
  // The opener for dataplane = "nftables" (the constructor's is IPVS's); none: such a
  // config fails to start. `remove_leftover` runs when a config with virtual servers starts
  // on another data plane: it removes a table an earlier nftables run left (it would DNAT
  // the VIPs ahead of IPVS) and says what it did ("" for nothing). Production passes
  // open_nftables_backend and remove_leftover_nftables; tests leave the host's nftables be.
  void set_nftables(BackendOpener open, std::function<std::string()> remove_leftover) {
    open_nft_ = std::move(open);
    remove_leftover_nft_ = std::move(remove_leftover);
  }
  ~LvsSubsystem() override;
  std::string_view name() const override { return "lvs"; }
  std::string start(const config::Config& cfg) override;
  std::string reload(const config::Config& old_cfg, const config::Config& new_cfg) override;
  void stop() override;
  void status(JsonWriter& w) const override;
  void status_steps(std::vector<JsonStep>& out) const override;  // services 50 a step
  void status_text(std::string& out) const override;
  void metrics(metrics::Writer& w) const override;
  void metrics_steps(metrics::Steps& out) const override;
  std::string unhealthy() const override;
  // Drain (weight 0, then out once no active connection is left or at the deadline), maint
  // and runtime weights; a server back from drain or maint ramps up again (slow start).
  void set_overrides(Overrides& o) override;
  // Publishes check state changes, quorum changes, IPVS operations and finished drains.
  void set_events(EventBus& e) override { events_ = &e; }

  // A VRRP instance changed state (from the VRRP subsystem, on the main loop); `fault` when the
  // new state is FAULT (else BACKUP or INIT when not master).
  void on_vrrp_state(const std::string& instance, bool master, bool fault = false);
  // A live old Master's handover (VrrpSubsystem::set_takeover_listener): with IPVS and
  // handover_forwarding, its unknown TCP packets are forwarded to it while it lingers.
  void on_takeover(const TakeoverNotice& n);
  // How the handover forwarding's nft scripts are applied (tests: a fake).
  void set_handover_apply(HandoverForwarding::Apply a) { handover_apply_ = std::move(a); }
  const HandoverForwarding* handover() const { return handover_.get(); }
  // Told, after every evaluation, whether each virtual server (by config key) has quorum.
  void set_quorum_listener(std::function<void(const std::map<std::string, bool>&)> f) {
    quorum_listener_ = std::move(f);
  }
  // Whether virtual server `name` (its config key) can take traffic here: evaluated since
  // start (with a data plane: the first reconcile done), with quorum, and programmed as
  // desired (always so with dataplane = "none"). What an anycast announcement follows.
  struct Serving {
    bool evaluated = false;
    bool quorum = false;
    bool in_sync = false;
    bool operator==(const Serving&) const = default;
  };
  Serving serving(const std::string& name) const;
  // Called after every evaluation and reconcile: serving() may have changed.
  void set_serving_listener(std::function<void()> f) { serving_listener_ = std::move(f); }

 private:
  // One virtual server as a scrape sees it: its label and its entries in both tables.
  // The metrics' label values, parallel to specs_ (made when specs_ changes, not per scrape).
  struct ServiceLabels {
    std::string vs;
    std::vector<std::string> rs;  // parallel to the spec's reals
  };
  std::vector<ServiceLabels> labels_;
  uint64_t metrics_gen_ = 0;  // +1 when specs_ or the checker change: a scrape starts over
  void refresh_metric_labels();
  static ServiceLabels labels_of(const ipvs::VirtualServiceSpec& spec);
  void on_change(const checkers::Change& c);
  void schedule_reconcile(bool full);
  // The whole desired table, planned against the whole kernel table.
  void reconcile_now();
  // After health changes only: the changed services' desired entries, planned and applied
  // alone (reconcile_now() when a reload, an override or a large burst asks for everything).
  void reconcile_changed();
  void announce_quorum(const ipvs::VirtualServiceSpec& spec, const ipvs::QuorumState& q);
  void finish_reconcile(ipvs::Report report, bool full, std::chrono::steady_clock::time_point t0);
  void index_specs();
  // Drift repair every reconcile_interval, a few services a loop turn: the service list
  // read at the start, then each service's destinations read and planned against its
  // desired entry (at most ~2 ms of the loop a turn). Without a known table, or when a
  // read fails, a whole reconcile (dump and plan) instead.
  void start_sweep();
  void sweep_step();
  void write_service_status(JsonWriter& w, const ipvs::VirtualServiceSpec& spec) const;
  void write_ipvs_status_tail(JsonWriter& w) const;  // after the services
  // reload() when few virtual servers changed: only theirs (and the removed ones') specs,
  // checks, health and IPVS services are touched. false: too many changed, nothing done.
  bool reload_part(const config::Config& old_cfg, const config::Config& new_cfg);
  void start_sync_roles();
  void start_sync_role(ipvs::SyncState role);
  void stop_sync_roles();
  void arm_slow_start();
  // Ends the drains whose server has no active connection left in the kernel's table as
  // just read (`fresh`), or whose deadline passed; keeps drain_poll_ running while any is open.
  void check_drains(bool fresh);

  Loop& loop_;
  BackendOpener open_backend_;
  BackendOpener open_nft_;
  std::function<std::string()> remove_leftover_nft_;
  const Clock& clock_;
  // Only the globals are kept: a copy of the whole config would double the memory of a
  // 100,000-server config (the director holds the config; reload() is given both).
  config::Global global_;
  bool running_ = false;
  // Programming a data plane: IPVS (dataplane = "kernel") or nftables, services configured.
  bool kernel_ = false;
  std::unique_ptr<ipvs::Backend> backend_;
  std::unique_ptr<ipvs::Reconciler> reconciler_;
  std::unique_ptr<checkers::Checker> checker_;
  std::vector<ipvs::VirtualServiceSpec> specs_;
  // Each virtual server's IPVS key by its config key() (the name VRRP tracking uses).
  std::map<std::string, ipvs::ServiceKey> service_keys_;
  ipvs::HealthMap health_;
  ipvs::QuorumStates quorum_;
  ipvs::Table desired_;
  std::optional<ipvs::Report> last_report_;
  double last_sync_wall_ = 0;
  bool pending_full_ = false;
  std::set<ipvs::ServiceKey> changed_;  // services with health changes since the last reconcile
  bool recompute_all_ = false;          // something else changed: the whole desired table
  std::map<ipvs::ServiceKey, size_t> spec_index_;  // into specs_
  bool any_slow_start_ = false;                      // a spec with slow_start
  Timer soon_;      // coalesces bursts of health changes into one reconcile
  Timer periodic_;  // drift repair: starts a sweep
  Timer sweep_;     // its steps, one a loop turn
  std::vector<ipvs::ServiceKey> sweep_keys_;
  size_t sweep_next_ = 0;
  ipvs::Table sweep_services_;  // the service list read at the sweep's start
  uint64_t sweep_seq_ = 0;      // the reconciler's seq() then
  Timer ramp_;      // slow start steps
  bool sync_master_ = false, sync_backup_ = false;  // the kernel's sync roles we started
  std::string sync_error_;
  uint64_t health_changes_ = 0;
  metrics::Histogram reconcile_seconds_{metrics::kDurationBounds};
  std::function<void(const std::map<std::string, bool>&)> quorum_listener_;
  Overrides* overrides_ = nullptr;
  EventBus* events_ = nullptr;
  ipvs::AdminMap admin_;
  std::map<std::string, std::optional<TimePoint>> drains_;  // open drains and their deadlines
  Timer drain_poll_;  // reads the kernel's table each second while a drain is open
  // Handover forwarding: made with IPVS and handover_forwarding, else none.
  void configure_handover(const config::Config& cfg);
  void configure_conntrackd(const config::Config& cfg);
  LoopTimers handover_timers_{loop_};
  HandoverForwarding::Apply handover_apply_;
  std::unique_ptr<HandoverForwarding> handover_;
  std::unique_ptr<ConntrackdSync> conntrackd_;  // [global] conntrackd: made, kept or replaced by each config
  std::map<std::string, SyncRole> vrrp_roles_;  // each instance's last state, for a new conntrackd_
  std::map<std::string, TakeoverNotice> followed_;  // the Backups' follow notices, by instance
  void tell_quorum();
  void tell_serving();
  std::function<void()> serving_listener_;
  bool evaluated_ = false;  // since start(): tell_serving() ran
};

}  // namespace hd
