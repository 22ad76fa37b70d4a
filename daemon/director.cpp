// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/director.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "core/json.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/version.h"
#include "daemon/anycast_subsystem.h"
#include "daemon/systemd_notify.h"
#include "daemon/lvs_subsystem.h"
#include "daemon/metrics_subsystem.h"
#include "daemon/realserver_subsystem.h"
#include "daemon/vrrp_subsystem.h"

namespace hd {
namespace {
std::set<std::string> instance_names(const config::Config& cfg) {
  std::set<std::string> out;
  for (auto& vi : cfg.vrrp_instances) out.insert(vi.name);
  return out;
}
std::set<std::string> anycast_addresses(const config::Config& cfg) {
  std::set<std::string> out;
  for (auto& vs : cfg.virtual_servers)
    if (vs.announce == config::Announce::bgp && vs.address) out.insert(vs.address->str());
  return out;
}
}  // namespace

std::vector<std::unique_ptr<Subsystem>> Director::standard_subsystems(Loop& loop) {
  std::vector<std::unique_ptr<Subsystem>> subsystems;
  // Started in this order, stopped in reverse: VRRP leaves (VIPs go) before IPVS is touched.
  subsystems.push_back(std::make_unique<RealServerSubsystem>(loop));
  static const RealClock real_clock;  // stateless: one for every Director
  auto lvs = std::make_unique<LvsSubsystem>(loop, open_netlink_backend, real_clock);
  lvs->set_nftables(open_nftables_backend, remove_leftover_nftables);
  auto vrrp = std::make_unique<VrrpSubsystem>(loop);
  LvsSubsystem* lvs_raw = lvs.get();
  VrrpSubsystem* vrrp_raw = vrrp.get();
  vrrp->set_listener([lvs_raw](const std::string& instance, vrrp::State s) {
    lvs_raw->on_vrrp_state(instance, s == vrrp::State::master, s == vrrp::State::fault);
  });
  // A live Master's handover: the LVS side forwards what its IPVS does not know to it.
  vrrp->set_takeover_listener([lvs_raw](const TakeoverNotice& n) { lvs_raw->on_takeover(n); });
  // Quorum of virtual servers feeds VRRP tracking (track_virtual_servers).
  lvs->set_quorum_listener(
      [vrrp_raw](const std::map<std::string, bool>& up) { vrrp_raw->on_quorum(up); });
  // Anycast announcements follow the virtual servers' serving state (announce = "bgp").
  auto anycast = std::make_unique<AnycastSubsystem>(
      loop, [lvs_raw](const std::string& key) { return lvs_raw->serving(key); },
      anycast::netlink_kernel(loop), real_clock);
  AnycastSubsystem* anycast_raw = anycast.get();
  lvs->set_serving_listener([anycast_raw] { anycast_raw->evaluate_soon(); });
  subsystems.push_back(std::move(lvs));
  subsystems.push_back(std::move(anycast));
  subsystems.push_back(std::move(vrrp));
  return subsystems;
}

Director::Director(Loop& loop, std::string config_path, config::Config cfg)
    : Director(loop, std::move(config_path), std::move(cfg), standard_subsystems(loop)) {}

Director::Director(Loop& loop, std::string config_path, config::Config cfg,
                   std::vector<std::unique_ptr<Subsystem>> subsystems)
    : loop_(loop),
      config_path_(std::move(config_path)),
      cfg_(std::move(cfg)),
      subsystems_(std::move(subsystems)),
      control_(loop, [this](const control::Peer& peer, const std::string& line) {
        return answer(peer, line);
      }) {
  // Last: started after (and stopped before) what it reports on.
  subsystems_.push_back(std::make_unique<MetricsSubsystem>(
      loop, [this] { return metrics_steps(); }, [this] { return unhealthy(); }));
  events_.set_sink([this](const std::string& line) { control_.broadcast(line); },
                   [this] { return control_.subscribers() > 0; });
  for (auto& s : subsystems_) s->set_events(events_);
  overrides_.on_real_change(
      [this](const std::string& id, const RealOverride* now, const std::string& why) {
        drain_changed(id, now, why);
      });
}

Director::~Director() {
  if (parser_.joinable()) parser_.join();  // its result is dropped with the mailbox
  // control_ goes before the subsystems, which may still publish while they stop.
  events_.set_sink(nullptr, nullptr);
  // Last started, first gone: a subsystem may read one started before it (anycast asks
  // LVS) until it is destroyed, and a start that failed stops none of them in order.
  while (!subsystems_.empty()) subsystems_.pop_back();
}

std::string Director::apply_access(const config::Config& cfg) {
  control::AccessPolicy p;
  p.admin_group = cfg.global.admin_group;
  p.read_group = cfg.global.read_group;
  // Checked by the loader; a group deleted since then authorises nobody.
  p.admin_gid = config::group_id(p.admin_group);
  p.read_gid = config::group_id(p.read_group);
  access_ = p;
  return control_.set_access(control::socket_access(p));
}

void Director::push_overrides() {
  for (auto& s : subsystems_) s->set_overrides(overrides_);
}

std::string Director::start() {
  log::set_level(cfg_.global.log_level);
  if (auto err = control_.listen(cfg_.global.control_socket); !err.empty()) return err;
  if (auto err = apply_access(cfg_); !err.empty()) return err;
  overrides_.set_path(cfg_.global.state_dir + "/overrides.toml");
  if (auto err = overrides_.load(); !err.empty())
    HD_LOG(error, "overrides") << err << ": starting without runtime overrides";
  for (auto& line : overrides_.prune(real_server_ids(cfg_), instance_names(cfg_), anycast_addresses(cfg_), false))
    HD_LOG(warning, "overrides") << line << " (" << overrides_.path()
                                 << " keeps it until the next change)";
  if (!overrides_.reals().empty())
    HD_LOG(info, "overrides") << overrides_.reals().size()
                              << " runtime override(s) restored from " << overrides_.path();
  push_overrides();
  for (auto& s : subsystems_) {
    if (auto err = s->start(cfg_); !err.empty()) return std::string(s->name()) + ": " + err;
  }
  release_free_memory();  // the parsed TOML tree and the start-up's temporaries
  started_at_ = loaded_at_ = wall_seconds();
  HD_LOG(info, "director") << "started (router_id " << cfg_.global.router_id << ", config "
                           << config_path_ << ", control socket " << cfg_.global.control_socket
                           << ")";
  systemd::status("running, config generation " + std::to_string(generation_));
  systemd::ready();
  return "";
}

std::string Director::handle_request(const control::Peer& peer, const std::string& line) {
  auto r = answer(peer, line);
  if (!r.later && !r.later_parts) return r.text;
  std::string parts;
  std::optional<std::string> text;
  auto end = [&text](std::string t) { text = std::move(t); };
  if (r.later_parts)
    r.later_parts(
        [&parts](std::string t) -> std::optional<size_t> {
          parts += t;
          return 0;  // taken at once
        },
        end);
  else
    r.later(end);
  while (!text) loop_.run_once();
  return parts + *text;
}

ReloadOutcome Director::reload() {
  if (stopping_) return {false, generation_, {"the daemon is stopping"}};
  systemd::reloading();
  HD_LOG(info, "director") << "reload requested: reading " << config_path_;
  return apply_reload(config::load_file(config_path_));
}

void Director::request_reload(std::function<void(const ReloadOutcome&)> done) {
  if (stopping_) {
    if (done) done({false, generation_, {"the daemon is stopping"}});
    return;
  }
  waiting_.push_back(std::move(done));
  if (!parser_.joinable()) start_parse();
}

void Director::start_parse() {
  parsing_for_ = std::move(waiting_);
  waiting_.clear();
  if (!parsed_)
    parsed_ = std::make_unique<Mailbox<config::LoadResult>>(
        loop_, [this](config::LoadResult&& r) { on_parsed(std::move(r)); });
  systemd::reloading();
  HD_LOG(info, "director") << "reload requested: reading " << config_path_;
  parser_ = std::thread([this, path = config_path_] {
    // Nothing here touches the director: the file, the loader (pure), the mailbox.
    parsed_->post(config::load_file(path));
  });
}

void Director::on_parsed(config::LoadResult&& result) {
  parser_.join();
  auto callbacks = std::move(parsing_for_);
  parsing_for_.clear();
  ReloadOutcome outcome = stopping_ ? ReloadOutcome{false, generation_, {"the daemon is stopping"}}
                                    : apply_reload(std::move(result));
  for (auto& cb : callbacks)
    if (cb) cb(outcome);
  if (!waiting_.empty()) {
    if (stopping_) {
      auto rest = std::move(waiting_);
      waiting_.clear();
      for (auto& cb : rest)
        if (cb) cb({false, generation_, {"the daemon is stopping"}});
    } else {
      start_parse();
    }
  }
}

ReloadOutcome Director::apply_reload(config::LoadResult result) {
  // A status being written a slice per turn reads state a reload may free (a checker
  // replaced when the dataplane changes): it is finished first, in one go.
  finish_status_jobs();
  std::vector<std::string> errors;
  for (auto& e : result.errors) errors.push_back(e.str());
  for (auto& w : result.warnings) HD_LOG(warning, "config") << w.str();
  if (result.ok()) {
    if (result.config->global.control_socket != cfg_.global.control_socket)
      errors.push_back(config_path_ +
                       ": error: control_socket cannot change on reload (restart the daemon)");
    if (result.config->global.state_dir != cfg_.global.state_dir)
      errors.push_back(config_path_ +
                       ": error: state_dir cannot change on reload (restart the daemon)");
  }
  auto reject = [&](const char* what) {
    ++reloads_failed_;
    events_.publish("reload", [&](JsonWriter& e) {
      e.field("ok", false).field("generation", generation_);
      e.key("errors").begin_array();
      for (auto& err : errors) e.value(err);
      e.end_array();
    });
    last_reload_errors_ = errors;
    for (auto& e : errors) HD_LOG(error, "config") << e;
    HD_LOG(error, "director") << "reload " << what << " (" << errors.size()
                              << " error(s)); still running config generation " << generation_;
    release_free_memory();
    systemd::status("reload failed, running config generation " + std::to_string(generation_));
    systemd::ready();
    return ReloadOutcome{false, generation_, errors};
  };
  if (!errors.empty()) return reject("rejected");
  config::Config next = std::move(*result.config);
  // All or nothing: the first subsystem that fails stops the reload, and every subsystem
  // that took the new config (the failed one too: it may have taken part of it) is reloaded
  // back to the running one, last first.
  size_t k = 0;
  const auto applying = SteadyClock::now();
  std::string took;  // each subsystem's time on the loop, for the log line
  auto ms = [](Duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) +
           " ms";
  };
  for (; k < subsystems_.size(); ++k) {
    const auto t0 = SteadyClock::now();
    auto err = subsystems_[k]->reload(cfg_, next);
    took += std::string(took.empty() ? "" : ", ") + std::string(subsystems_[k]->name()) + " " +
            ms(SteadyClock::now() - t0);
    if (!err.empty()) {
      errors.push_back(std::string(subsystems_[k]->name()) + ": " + err);
      break;
    }
  }
  if (!errors.empty()) {
    for (size_t j = k + 1; j-- > 0;) {
      if (auto err = subsystems_[j]->reload(next, cfg_); !err.empty()) {
        errors.push_back(std::string(subsystems_[j]->name()) +
                         ": could not go back to the running config either: " + err);
        degraded_ = true;
      }
    }
    return reject(degraded_ ? "failed and its rollback failed too" : "failed and was rolled back");
  }
  log::set_level(next.global.log_level);
  cfg_ = std::move(next);
  if (auto err = apply_access(cfg_); !err.empty()) HD_LOG(error, "control") << err;
  // The ids of 100,000 real servers are worth building only when there is an override.
  if (auto dropped = overrides_.reals().empty() && overrides_.holds().empty() &&
                             overrides_.withdrawals().empty()
                         ? std::vector<std::string>{}
                         : overrides_.prune(real_server_ids(cfg_), instance_names(cfg_), anycast_addresses(cfg_));
      !dropped.empty()) {
    for (auto& line : dropped) {
      HD_LOG(warning, "overrides") << line;
      events_.publish("override", [&](JsonWriter& e) {
        e.field("override", "none").field("reason", line);
      });
    }
    push_overrides();
  }
  ++generation_;
  ++reloads_ok_;
  degraded_ = false;
  last_reload_errors_.clear();
  loaded_at_ = wall_seconds();
  release_free_memory();  // the old config, the parsed tree
  HD_LOG(info, "director") << "reload applied: config generation " << generation_ << " in "
                           << ms(SteadyClock::now() - applying) << " (" << took << ")";
  events_.publish("reload", [&](JsonWriter& e) {
    e.field("ok", true).field("generation", generation_);
    e.key("errors").begin_array().end_array();
  });
  systemd::status("running, config generation " + std::to_string(generation_));
  systemd::ready();
  return {true, generation_, {}};
}

void Director::stop() {
  if (stopping_) return;
  stopping_ = true;
  systemd::stopping();
  HD_LOG(info, "director") << "stopping";
  // First a handover that loses nothing: each VRRP Master lets another router take over and
  // keeps forwarding for handover_linger (the VRRP subsystem bounds the wait), while IPVS and
  // its connection sync keep running. Then every subsystem stops.
  answer_drain_waiters_at_stop();
  for (auto& s : subsystems_) s->begin_stop();
  stop_when_handed_over();
  drain_timer_ = std::make_unique<Timer>(loop_, [this] {
    if (!stop_when_handed_over()) return;
    bool busy = false;
    for (auto& s : subsystems_) busy = busy || s->busy();
    if (busy && SteadyClock::now() < drain_deadline_) return;
    if (busy) HD_LOG(warning, "director") << "stopping without waiting for running hooks";
    drain_timer_->stop();
    control_.close();
    loop_.stop();
  });
  drain_timer_->start(Millis(1), Millis(10));
}

bool Director::stop_when_handed_over() {
  if (handed_over_) return true;
  for (auto& s : subsystems_)
    if (s->handing_over()) return false;
  handed_over_ = true;
  finish_status_jobs();  // their steps read the subsystems' state, which stop() frees
  for (auto it = subsystems_.rbegin(); it != subsystems_.rend(); ++it) (*it)->stop();
  // Let stop hooks (notify scripts) finish, for at most 5 s, then leave the loop.
  drain_deadline_ = SteadyClock::now() + std::chrono::seconds(5);
  return true;
}
}  // namespace hd
