// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/vrrp_subsystem.h"

#include "daemon/events.h"
#include "daemon/overrides.h"

#include <algorithm>
#include <set>

#include "core/log.h"
#include "vrrp/sync_group.h"

namespace hd {
namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

}  // namespace

vrrp::InstanceConfig to_engine_config(const config::VrrpInstance& vi) {
  vrrp::InstanceConfig c;
  c.name = vi.name;
  c.interface = vi.interface;
  c.params.version = vi.version == 2 ? vrrp::Version::v2 : vrrp::Version::v3;
  c.params.vrid = static_cast<uint8_t>(vi.vrid);
  c.params.priority = static_cast<uint8_t>(vi.priority);
  c.params.advert_interval = vi.advert_interval;
  c.params.preempt = vi.preempt;
  c.params.preempt_delay = vi.preempt_delay;
  c.params.linger = vi.handover_linger;
  c.params.adopt_interval_ratio = static_cast<uint16_t>(vi.adopt_interval_ratio);
  for (auto& v : vi.vips)
    c.vips.push_back(vrrp::VipSpec{v.prefix.address, v.prefix.length, v.label, 0});
  for (auto& v : vi.excluded_vips)
    c.excluded_vips.push_back(vrrp::VipSpec{v.prefix.address, v.prefix.length, v.label, 0});
  if (vi.unicast_source) c.unicast_source = *vi.unicast_source;
  c.unicast_peers = vi.unicast_peers;
  c.peers = vi.peers;
  c.auth_pass = vi.auth_pass;
  if (vi.auth) c.auth = config::resolve_auth(*vi.auth, vi.advert_interval);
  c.garp_count = vi.garp.count;
  c.garp_spacing = vi.garp.spacing;
  c.garp_refresh = vi.garp.refresh;
  c.garp_second_burst = vi.garp.second_burst_delay;
  c.track_interfaces = vi.track_interfaces;
  return c;
}

void set_sync_groups(const config::Config& cfg, std::vector<vrrp::InstanceConfig>& instances) {
  std::set<IpAddress> service_addresses;
  for (auto& vs : cfg.virtual_servers)
    if (vs.address) service_addresses.insert(*vs.address);
  auto carries_service = [&](const std::vector<vrrp::VipSpec>& vips) {
    return std::any_of(vips.begin(), vips.end(),
                       [&](const vrrp::VipSpec& v) { return service_addresses.count(v.address); });
  };
  for (auto& g : cfg.sync_groups)
    for (auto& name : g.instances)
      for (auto& c : instances)
        if (c.name == name) {
          c.sync_group = g.name;
          // A gateway (no virtual service on its VIPs) is announced before the service side.
          c.announce_first = !carries_service(c.vips) && !carries_service(c.excluded_vips);
        }
}

VrrpSubsystem::VrrpSubsystem(Loop& main_loop)
    : loop_(main_loop),
      transitions_(main_loop, [this](vrrp::Transition&& t) { on_transition(std::move(t)); }),
      engine_([this](const vrrp::Transition& t) { transitions_.post(t); }),
      hooks_(main_loop),
      files_(main_loop, [this] { push_tracking(); }) {
  // The VRRP thread never writes to standard error itself: its lines go through this loop.
  engine_.set_log_drain(main_loop);
}

VrrpSubsystem::~VrrpSubsystem() { stop(); }

void VrrpSubsystem::on_quorum(const std::map<std::string, bool>& vs_up) {
  if (vs_up == vs_up_) return;
  vs_up_ = vs_up;
  push_tracking();
}

namespace {
// The track files' part of tracking(): their fault (the first) and priority change.
struct FileTracking {
  std::string fault;
  int delta = 0;
};
FileTracking file_tracking(const config::VrrpInstance& vi, const config::Config& cfg,
                           const std::map<std::string, long long>& file_values) {
  FileTracking t;
  for (auto& ref : vi.track_files) {
    auto f = std::find_if(cfg.track_files.begin(), cfg.track_files.end(),
                          [&](auto& tf) { return tf.name == ref.name; });
    if (f == cfg.track_files.end()) continue;
    long long w = ref.weight.value_or(f->weight);
    auto it = file_values.find(ref.name);
    long long v = it == file_values.end() ? 0 : it->second;
    if (v == 0) continue;
    long long d = v * w;  // |v| < 2^31, |w| <= 254: no overflow
    if ((w == 0 || d < -253) && t.fault.empty())
      t.fault = "track file " + ref.name + " reads " + std::to_string(v);
    if (w != 0) t.delta += static_cast<int>(std::clamp(d, -254LL, 254LL));
  }
  return t;
}
}  // namespace

VrrpSubsystem::Tracking VrrpSubsystem::tracking(const config::VrrpInstance& vi,
                                                const config::Config& cfg,
                                                const std::map<std::string, bool>& script_up,
                                                const std::map<std::string, bool>& vs_up,
                                                const std::map<std::string, long long>& file_values) {
  Tracking t{vi.priority, ""};
  int delta = 0;
  for (auto& ref : vi.track_scripts) {
    auto s = std::find_if(cfg.track_scripts.begin(), cfg.track_scripts.end(),
                          [&](auto& ts) { return ts.name == ref.name; });
    if (s == cfg.track_scripts.end()) continue;
    int w = ref.weight.value_or(s->weight);
    auto it = script_up.find(ref.name);
    bool up = it != script_up.end() && it->second;
    if (w == 0 && !up && t.fault.empty()) t.fault = "track script " + ref.name + " failing";
    if (w > 0 && up) delta += w;
    if (w < 0 && !up) delta += w;
  }
  auto files = file_tracking(vi, cfg, file_values);
  if (t.fault.empty()) t.fault = files.fault;
  delta += files.delta;
  for (auto& ref : vi.track_virtual_servers) {
    auto it = vs_up.find(ref.service);
    bool up = it != vs_up.end() && it->second;
    if (up) continue;
    if (ref.weight == 0 && t.fault.empty()) t.fault = "virtual server " + ref.service + " lost quorum";
    delta += ref.weight < 0 ? ref.weight : -ref.weight;
  }
  t.delta = delta;
  if (vi.priority != 255) t.priority = std::clamp(vi.priority + delta, 1, 254);
  return t;
}

void VrrpSubsystem::start_tracker(const config::Config& cfg) {
  std::vector<checkers::Target> targets;
  for (auto& s : cfg.track_scripts) {
    checkers::Target t;
    t.id = s.name;
    t.spec.type = checkers::CheckType::script;
    t.spec.argv = s.command;
    t.spec.interval = s.interval;
    t.spec.timeout = s.timeout;
    t.spec.rise = s.rise;
    t.spec.fall = s.fall;
    t.spec.initial_up = false;  // failing until proven otherwise
    targets.push_back(std::move(t));
  }
  if (targets.empty()) {
    if (tracker_) tracker_->stop();
    tracker_.reset();
    script_up_.clear();
    return;
  }
  if (!tracker_)
    tracker_ = std::make_unique<checkers::Checker>(loop_, [this](const checkers::Change& c) {
      script_up_[c.id] = c.up;
      push_tracking();
    });
  // Keep the state of scripts still configured.
  std::map<std::string, bool> keep;
  for (auto& t : targets)
    if (auto it = script_up_.find(t.id); it != script_up_.end()) keep[t.id] = it->second;
  script_up_ = keep;
  tracker_->update(std::move(targets));
}

namespace {
// The fault each instance's track files alone impose, known before the engine starts.
void set_start_faults(const config::Config& cfg, const std::map<std::string, long long>& values,
                      std::vector<vrrp::InstanceConfig>& instances) {
  for (auto& vi : cfg.vrrp_instances) {
    if (vi.track_files.empty()) continue;
    auto fault = file_tracking(vi, cfg, values).fault;
    for (auto& c : instances)
      if (c.name == vi.name) c.start_fault.reason = fault;
  }
}
}  // namespace

void VrrpSubsystem::push_tracking() {
  if (!started_) return;
  // Sync groups share tracking (vrrp/sync_group.h); faults are shared by the engine.
  std::map<std::string, std::string> group_of;
  for (auto& g : cfg_.sync_groups)
    for (auto& i : g.instances) group_of[i] = g.name;
  std::vector<vrrp::TrackedMember> members;
  std::map<std::string, std::string> fault;
  auto file_values = files_.values();
  for (auto& vi : cfg_.vrrp_instances) {
    auto t = tracking(vi, cfg_, script_up_, vs_up_, file_values);
    fault[vi.name] = t.fault;
    auto g = group_of.find(vi.name);
    members.push_back({vi.name, g == group_of.end() ? "" : g->second, vi.priority, t.priority,
                       t.delta,
                       !vi.track_scripts.empty() || !vi.track_files.empty() ||
                           !vi.track_virtual_servers.empty()});
  }
  for (auto& [name, priority] : vrrp::tracked_priorities(members))
    engine_.set_tracking(name, priority, fault[name]);
}

std::string VrrpSubsystem::start(const config::Config& cfg) {
  std::vector<vrrp::InstanceConfig> instances;
  for (auto& vi : cfg.vrrp_instances) {
    instances.push_back(to_engine_config(vi));
    notify_[vi.name] = vi.notify;
  }
  set_sync_groups(cfg, instances);
  cfg_ = config::without_virtual_servers(cfg);
  apply_holds();  // before the engine starts: a held instance never starts as Master
  if (instances.empty()) return "";
  // Track files are read before the engine starts: an instance whose file says fault never
  // starts as Master.
  if (auto err = files_.configure(cfg.track_files); !err.empty()) return err;
  set_start_faults(cfg, files_.values(), instances);
  auto err = engine_.start(std::move(instances),
                           vrrp::EngineOptions{cfg.global.vrrp_realtime, cfg.global.vrrp_rt_priority,
                                               cfg.global.vrrp_cpu_affinity});
  if (!err.empty()) return err;
  started_ = true;
  start_tracker(cfg);
  push_tracking();
  return "";
}

std::string VrrpSubsystem::reload(const config::Config& old_cfg, const config::Config& new_cfg) {
  (void)old_cfg;  // the engine diffs against what it runs
  std::vector<vrrp::InstanceConfig> instances;
  for (auto& vi : new_cfg.vrrp_instances) instances.push_back(to_engine_config(vi));
  set_sync_groups(new_cfg, instances);
  if (!started_) {
    if (instances.empty()) {
      cfg_ = config::without_virtual_servers(new_cfg);
      notify_.clear();
      return "";
    }
    notify_.clear();
    return start(new_cfg);
  }
  // The engine's reload is all or nothing; on failure nothing here changes either (the
  // track files watched before are watched again).
  std::vector<std::string> old_paths;
  for (auto& f : cfg_.track_files) old_paths.push_back(f.path);
  if (auto err = files_.configure(new_cfg.track_files); !err.empty()) return err;
  set_start_faults(new_cfg, files_.values(), instances);  // for the instances it restarts
  if (auto err = engine_.reload(std::move(instances)); !err.empty()) {
    if (auto back = files_.configure(cfg_.track_files, old_paths); !back.empty())
      HD_LOG(error, "vrrp") << "after a refused reload, the track files cannot be watched again: " << back;
    return err;
  }
  cfg_ = config::without_virtual_servers(new_cfg);
  apply_holds();  // sync groups may have changed
  notify_.clear();
  for (auto& vi : new_cfg.vrrp_instances) notify_[vi.name] = vi.notify;
  start_tracker(new_cfg);
  push_tracking();  // restarted instances start from their base priority
  return "";
}

void VrrpSubsystem::begin_stop() {
  if (!started_ || handover_deadline_) return;
  Duration longest{};
  for (auto& vi : cfg_.vrrp_instances)
    longest = std::max<Duration>(longest, 4 * vi.advert_interval + vi.handover_linger);
  handover_deadline_ = SteadyClock::now() + longest + std::chrono::seconds(1);
  engine_.begin_handover();
}

bool VrrpSubsystem::handing_over() const {
  if (!started_ || !handover_deadline_ || handover_timed_out_) return false;
  if (!engine_.status().handing_over) return false;
  if (SteadyClock::now() < *handover_deadline_) return true;
  handover_timed_out_ = true;
  HD_LOG(warning, "vrrp") << "stopping: the handover did not finish in time; releasing the VIPs now";
  return false;
}

void VrrpSubsystem::stop() {
  if (tracker_) tracker_->stop();
  tracker_.reset();
  if (!started_) return;
  engine_.stop();
  started_ = false;
  // The engine's last transitions (to INITIALIZE: the stop hooks) are queued for us: run them.
  transitions_.drain();
}

std::map<std::string, bool> VrrpSubsystem::wanted_holds() const {
  std::map<std::string, bool> want;
  if (!overrides_) return want;
  for (auto& [name, h] : overrides_->holds()) {
    bool failover = h.mode == InstanceHold::Mode::failover;
    // The group moves as one (VI_1 and the NAT gateway VI_GW). A member covered by a hold
    // and a failover is held: a hold is never aborted.
    for (auto& m : config::sync_group_of(cfg_, name)) {
      auto [it, fresh] = want.emplace(m, failover);
      if (!fresh) it->second = it->second && failover;
    }
  }
  return want;
}

void VrrpSubsystem::set_overrides(Overrides& o) {
  overrides_ = &o;
  apply_holds();
}

void VrrpSubsystem::apply_holds() {
  auto want = wanted_holds();
  for (auto& [name, failover] : want) {
    auto it = applied_holds_.find(name);
    if (it == applied_holds_.end() || it->second != failover)
      engine_.set_hold(name, true, failover && started_);  // new, or its mode changed
  }
  for (auto& [name, failover] : applied_holds_)
    if (!want.count(name)) engine_.set_hold(name, false, false);
  applied_holds_ = std::move(want);
}

std::optional<TakeoverNotice> VrrpSubsystem::takeover_notice(const vrrp::Transition& t,
                                                             const config::VrrpInstance& vi) {
  using P = TakeoverNotice::Phase;
  TakeoverNotice n;
  n.instance = t.instance;
  n.interface = t.interface;
  if (t.live_master) n.to = *t.live_master;
  if (t.follow) {
    if (t.to != vrrp::State::backup) return std::nullopt;  // the state change decides
    n.phase = t.live_master ? P::follow : P::ended;
    n.input = !t.lingering;
    return n;
  }
  if (t.to == vrrp::State::backup) return std::nullopt;  // its follow notice comes next
  if (t.to == vrrp::State::master && t.live_master && vi.handover_linger > Duration::zero()) {
    n.phase = P::master;
    n.window = std::max<Duration>(vi.handover_linger - Millis(500), vi.handover_linger / 2);
  }
  return n;
}

void VrrpSubsystem::on_transition(vrrp::Transition&& t) {
  if (takeover_listener_) {
    auto vi = std::find_if(cfg_.vrrp_instances.begin(), cfg_.vrrp_instances.end(),
                           [&](const config::VrrpInstance& v) { return v.name == t.instance; });
    if (vi != cfg_.vrrp_instances.end())
      if (auto n = takeover_notice(t, *vi)) takeover_listener_(*n);
  }
  if (t.follow) return;  // not a state change
  if (t.failover_aborted && overrides_) {
    // A failover nobody took: the instance took its VIPs back and is no longer held. So
    // are the rest of its group: drop the store's entry and release them.
    const auto holds = overrides_->holds();  // a copy: hold_lifted changes the store
    for (auto& entry : holds) {
      const std::string& name = entry.first;
      auto group = config::sync_group_of(cfg_, name);
      if (std::find(group.begin(), group.end(), t.instance) == group.end()) continue;
      HD_LOG(warning, "vrrp") << name << ": failover aborted (" << t.reason
                              << "): no longer held";
      overrides_->hold_lifted(name);
      if (events_)
        events_->publish("override", [&](JsonWriter& e) {
          e.field("vrrp_instance", name).field("override", "none").field("reason", t.reason);
        });
    }
    apply_holds();  // releases the group, and clears the engine's record of the hold
  }
  if (events_)
    events_->publish("vrrp", [&](JsonWriter& e) {
      e.field("instance", t.instance).field("from", vrrp::to_string(t.from));
      e.field("to", vrrp::to_string(t.to)).field("reason", t.reason);
    });
  if (listener_) listener_(t.instance, t.to);
  auto it = notify_.find(t.instance);
  if (it == notify_.end()) return;
  const config::Notify& n = it->second;
  const std::vector<std::string>* argv = nullptr;
  switch (t.to) {
    case vrrp::State::master: argv = &n.master; break;
    case vrrp::State::backup: argv = &n.backup; break;
    case vrrp::State::fault: argv = &n.fault; break;
    case vrrp::State::initialize: argv = &n.stop; break;
  }
  if (!argv || argv->empty()) return;
  HookJob job{t.instance, *argv, n.timeout};
  job.argv.push_back(t.instance);
  job.argv.push_back(t.to == vrrp::State::initialize ? "stop" : lower(vrrp::to_string(t.to)));
  hooks_.run(std::move(job));
}

void VrrpSubsystem::metrics(metrics::Writer& w) const {
  if (!started_) return;
  auto s = engine_.status();
  w.gauge("hadirector_vrrp_realtime", "1 when the VRRP thread runs SCHED_FIFO.");
  w.sample(s.realtime ? 1 : 0);
  w.gauge("hadirector_vrrp_instance_state",
          "1 for the instance's current state (INITIALIZE, BACKUP, MASTER, FAULT), 0 for the others.");
  for (auto& i : s.instances)
    for (auto st : {vrrp::State::initialize, vrrp::State::backup, vrrp::State::master,
                    vrrp::State::fault})
      w.sample({{"vrrp_instance", i.name}, {"state", vrrp::to_string(st)}}, i.state == st ? 1 : 0);
  w.gauge("hadirector_vrrp_priority", "Priority: configured, and effective (after tracking).");
  for (auto& i : s.instances) {
    w.sample({{"vrrp_instance", i.name}, {"priority", "configured"}}, i.base_priority);
    w.sample({{"vrrp_instance", i.name}, {"priority", "effective"}}, i.effective_priority);
  }
  // One sample per instance of a family of its own.
  using I = vrrp::InstanceStatus;
  auto each = [&](bool counter, const char* name, const char* help, auto get) {
    if (counter)
      w.counter(name, help);
    else
      w.gauge(name, help);
    for (auto& i : s.instances)
      w.sample({{"vrrp_instance", i.name}}, static_cast<double>(get(i)));
  };
  each(false, "hadirector_vrrp_last_transition_time_seconds",
       "When the instance last changed state (Unix time).",
       [](const I& i) { return i.last_transition_wall; });
  each(false, "hadirector_vrrp_held",
       "1 while hadirector ctl hold or failover keeps the instance from MASTER.",
       [](const I& i) { return i.held ? 1 : 0; });
  each(false, "hadirector_vrrp_lingering",
       "1 while the instance, BACKUP after a handover, still holds its VIPs (handover_linger).",
       [](const I& i) { return i.lingering ? 1 : 0; });
  each(false, "hadirector_vrrp_advert_interval_seconds",
       "The advert interval in force (v3: the Master's).",
       [](const I& i) { return i.advert_interval_s; });
  each(false, "hadirector_vrrp_advert_late_max_seconds",
       "The worst lateness of an advert against its due time since start.",
       [](const I& i) { return std::chrono::duration<double>(i.advert_timing.late_max).count(); });
  each(true, "hadirector_vrrp_became_master_total", "Transitions to MASTER.",
       [](const I& i) { return i.counters.became_master; });
  each(true, "hadirector_vrrp_master_down_total",
       "Master_Down_Timer expiries: the Master fell silent while this router was BACKUP.",
       [](const I& i) { return i.counters.master_down; });
  each(true, "hadirector_vrrp_adverts_sent_total", "Adverts sent.",
       [](const I& i) { return i.counters.adverts_sent; });
  each(true, "hadirector_vrrp_adverts_received_total", "Valid adverts received for the instance.",
       [](const I& i) { return i.counters.adverts_received; });
  each(true, "hadirector_vrrp_advert_send_errors_total", "Adverts the kernel would not send.",
       [](const I& i) { return i.counters.send_errors; });
  each(true, "hadirector_vrrp_adverts_late_total",
       "Adverts sent more than one interval after they were due (a loaded host).",
       [](const I& i) { return i.advert_timing.late; });
  each(true, "hadirector_vrrp_unknown_peer_total", "Adverts from a source not in unicast_peers/peers.",
       [](const I& i) { return i.counters.unknown_peer; });
  each(true, "hadirector_vrrp_gratuitous_sent_total", "Gratuitous ARPs / unsolicited NAs sent.",
       [](const I& i) { return i.garp_sent; });
  each(true, "hadirector_vrrp_vip_add_refused_total", "VIP additions the kernel refused while MASTER.",
       [](const I& i) { return i.counters.vip_add_refused; });
  w.counter("hadirector_vrrp_adverts_dropped_total", "Adverts dropped, by reason.");
  for (auto& i : s.instances)
    for (size_t r = 0; r < vrrp::kDropReasonCount; ++r)
      w.sample({{"vrrp_instance", i.name}, {"reason", vrrp::to_string(static_cast<vrrp::DropReason>(r))}},
               static_cast<double>(i.counters.drops.by_reason[r]));
  // Authenticated instances only: every verdict, accepted or not, by instance.
  w.counter("hadirector_vrrp_auth_adverts_total",
            "Adverts of authenticated instances by verdict: verified, unsigned_accepted "
            "(permissive/receive-only), or the reason they were rejected.");
  for (auto& i : s.instances)
    if (i.auth)
      for (size_t v = 0; v < vrrp::kAuthVerdictCount; ++v)
        w.sample({{"vrrp_instance", i.name},
                  {"verdict", vrrp::to_string(static_cast<vrrp::AuthVerdict>(v))}},
                 static_cast<double>(i.auth->counters.by_verdict[v]));
  if (!files_.states().empty()) {
    w.gauge("hadirector_vrrp_track_file_value",
            "The number each track file holds (a missing file reads 0; after a bad read, the "
            "value read last).");
    for (auto& [name, st] : files_.states())
      w.sample({{"track_file", name}}, static_cast<double>(st.value));
    w.counter("hadirector_vrrp_track_file_errors_total",
              "Reads of a track file that found no number (the value read last was kept).");
    for (auto& [name, st] : files_.states())
      w.sample({{"track_file", name}}, static_cast<double>(st.errors));
  }
  w.counter("hadirector_vrrp_notify_total", "Notify hooks by outcome.");
  w.sample({{"result", "started"}}, static_cast<double>(hooks_.started()));
  w.sample({{"result", "failed"}}, static_cast<double>(hooks_.failed()));
  w.sample({{"result", "timed_out"}}, static_cast<double>(hooks_.timed_out()));
}

std::string VrrpSubsystem::unhealthy() const {
  if (!started_) return "";
  std::string why;
  for (auto& i : engine_.status().instances) {
    if (i.state == vrrp::State::master || i.state == vrrp::State::backup) continue;
    if (!why.empty()) why += ", ";
    why += i.name + " is " + std::string(vrrp::to_string(i.state));
    if (!i.last_reason.empty()) why += " (" + i.last_reason + ")";
  }
  return why;
}

void VrrpSubsystem::status(JsonWriter& w) const {
  auto s = engine_.status();
  w.key("vrrp").begin_object();
  w.field("realtime", s.realtime);
  w.key("track_scripts");
  if (tracker_)
    tracker_->status(w);
  else
    w.null();
  w.key("track_files");
  files_.status(w);
  w.field("address_errors", s.address_errors);
  w.field("log_lines_dropped", s.log_lines_dropped);
  w.key("notify").begin_object();
  w.field("started", hooks_.started()).field("failed", hooks_.failed());
  w.field("timed_out", hooks_.timed_out()).field("coalesced", hooks_.coalesced());
  w.end_object();
  w.key("instances").begin_array();
  for (auto& i : s.instances) {
    w.begin_object();
    w.field("name", i.name).field("interface", i.interface).field("vrid", i.vrid);
    w.field("version", i.version);
    w.field("state", std::string(vrrp::to_string(i.state)));
    w.field("held", i.held);
    w.field("lingering", i.lingering);
    w.key("priority").begin_object();
    w.field("base", i.base_priority).field("effective", i.effective_priority);
    w.end_object();
    w.field("primary_ip", i.primary_ip);
    w.key("master_ip");
    if (i.master_ip.empty()) w.null(); else w.value(i.master_ip);
    w.field("advert_interval_s", i.advert_interval_s);
    w.field("master_down_interval_s", i.master_down_interval_s);
    w.key("last_transition").begin_object();
    w.field("at", i.last_transition_wall).field("reason", i.last_reason);
    w.end_object();
    w.key("vips").begin_array();
    for (auto& v : i.vips) w.value(v);
    w.end_array();
    w.key("excluded_vips").begin_array();
    for (auto& v : i.excluded_vips) w.value(v);
    w.end_array();
    w.key("down_interfaces").begin_array();
    for (auto& d : i.down_interfaces) w.value(d);
    w.end_array();
    w.key("vip_problem");
    if (i.vip_problem.empty()) w.null(); else w.value(i.vip_problem);
    auto& c = i.counters;
    w.key("counters").begin_object();
    w.field("adverts_sent", c.adverts_sent).field("adverts_received", c.adverts_received);
    w.field("send_errors", c.send_errors).field("became_master", c.became_master);
    w.field("vips_restored", c.vips_restored).field("gratuitous_sent", i.garp_sent);
    w.field("address_list_mismatch", c.address_list_mismatch);
    w.field("unknown_peer", c.unknown_peer);
    w.key("interval_not_adopted").begin_object();
    w.field("too_long", c.interval_too_long).field("too_short", c.interval_too_short);
    w.end_object();
    w.field("vip_add_refused", c.vip_add_refused).field("vip_add_retries", c.vip_add_retries);
    w.field("vip_faults", c.vip_faults).field("master_down", c.master_down);
    w.field("adverts_late", i.advert_timing.late);
    w.field("advert_late_max_ms",
            std::chrono::duration<double, std::milli>(i.advert_timing.late_max).count());
    w.key("dropped").begin_object();
    w.field("total", c.drops.total);
    for (size_t r = 0; r < vrrp::kDropReasonCount; ++r)
      w.field(vrrp::to_string(static_cast<vrrp::DropReason>(r)), c.drops.by_reason[r]);
    w.end_object();
    w.end_object();
    // Authentication: the mode and the key ids (never a key), and every verdict counted.
    w.key("auth");
    if (!i.auth) {
      w.null();
    } else {
      w.begin_object();
      w.field("mode", std::string(vrrp::to_string(i.auth->mode)));
      w.field("anti_replay", std::string(vrrp::to_string(i.auth->anti_replay)));
      if (i.auth->anti_replay == vrrp::AntiReplay::time) w.field("window_s", i.auth->window_s);
      w.field("active_key", i.auth->active_key);
      w.key("key_ids").begin_array();
      for (int id : i.auth->key_ids) w.value(id);
      w.end_array();
      auto& ac = i.auth->counters;
      w.field("verified", ac[vrrp::AuthVerdict::verified]);
      w.field("unsigned_accepted", ac[vrrp::AuthVerdict::unsigned_accepted]);
      w.key("rejected").begin_object();
      w.field("total", ac.rejected());
      for (size_t v = 0; v < vrrp::kAuthVerdictCount; ++v)
        if (!vrrp::accepted(static_cast<vrrp::AuthVerdict>(v)))
          w.field(vrrp::to_string(static_cast<vrrp::AuthVerdict>(v)), ac.by_verdict[v]);
      w.end_object();
      w.end_object();
    }
    w.end_object();
  }
  w.end_array();
  w.key("sockets").begin_array();
  for (auto& so : s.sockets) {
    w.begin_object();
    w.field("interface", so.interface).field("family", so.family);
    w.field("unknown_vrid", so.unknown_vrid).field("malformed", so.malformed);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void VrrpSubsystem::status_text(std::string& out) const {
  auto s = engine_.status();
  for (auto& i : s.instances) {
    out += "vrrp " + i.name + " " + std::string(vrrp::to_string(i.state)) + " on " + i.interface +
           " vrid " + std::to_string(i.vrid) + " priority " + std::to_string(i.effective_priority) +
           (i.master_ip.empty() ? "" : " master " + i.master_ip) + " (" + i.last_reason + ")\n";
    if (!i.vip_problem.empty()) out += "  VIP problem: " + i.vip_problem + "\n";
    if (i.lingering) out += "  lingering: still holding the VIPs after a handover\n";
    if (i.auth) {
      auto& c = i.auth->counters;
      out += "  auth " + std::string(vrrp::to_string(i.auth->mode)) + ", signing with key " +
             std::to_string(i.auth->active_key) + ": " +
             std::to_string(c[vrrp::AuthVerdict::verified]) + " verified, " +
             std::to_string(c[vrrp::AuthVerdict::unsigned_accepted]) + " unsigned accepted, " +
             std::to_string(c.rejected()) + " rejected\n";
    }
  }
}

}  // namespace hd
