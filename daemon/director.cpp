// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/director.h"

#include <unistd.h>

#include "core/json.h"
#include "core/log.h"
#include "core/version.h"
#include "daemon/systemd_notify.h"
#include "daemon/lvs_subsystem.h"
#include "daemon/metrics_subsystem.h"
#include "daemon/realserver_subsystem.h"
#include "daemon/vrrp_subsystem.h"

namespace hd {

std::vector<std::unique_ptr<Subsystem>> Director::standard_subsystems(Loop& loop) {
  std::vector<std::unique_ptr<Subsystem>> subsystems;
  // Started in this order, stopped in reverse: VRRP leaves (VIPs go) before IPVS is touched.
  subsystems.push_back(std::make_unique<RealServerSubsystem>(loop));
  static const RealClock real_clock;  // stateless: one for every Director
  auto lvs = std::make_unique<LvsSubsystem>(loop, open_netlink_backend, real_clock);
  auto vrrp = std::make_unique<VrrpSubsystem>(loop);
  LvsSubsystem* lvs_raw = lvs.get();
  VrrpSubsystem* vrrp_raw = vrrp.get();
  vrrp->set_listener([lvs_raw](const std::string& instance, vrrp::State s) {
    lvs_raw->on_vrrp_state(instance, s == vrrp::State::master);
  });
  // Quorum of virtual servers feeds VRRP tracking (track_virtual_servers).
  lvs->set_quorum_listener(
      [vrrp_raw](const std::map<std::string, bool>& up) { vrrp_raw->on_quorum(up); });
  subsystems.push_back(std::move(lvs));
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
      control_(loop, [this](const std::string& line) { return handle_request(line); }) {
  // Last: started after (and stopped before) what it reports on.
  subsystems_.push_back(std::make_unique<MetricsSubsystem>(
      loop, [this] { return metrics_text(); }, [this] { return unhealthy(); }));
}

Director::~Director() = default;

std::string Director::start() {
  log::set_level(cfg_.global.log_level);
  if (auto err = control_.listen(cfg_.global.control_socket); !err.empty()) return err;
  for (auto& s : subsystems_) {
    if (auto err = s->start(cfg_); !err.empty()) return std::string(s->name()) + ": " + err;
  }
  started_at_ = loaded_at_ = wall_seconds();
  HD_LOG(info, "director") << "started (router_id " << cfg_.global.router_id << ", config "
                           << config_path_ << ", control socket " << cfg_.global.control_socket
                           << ")";
  systemd::status("running, config generation " + std::to_string(generation_));
  systemd::ready();
  return "";
}

ReloadOutcome Director::reload() {
  if (stopping_) return {false, generation_, {"the daemon is stopping"}};
  systemd::reloading();
  HD_LOG(info, "director") << "reload requested: reading " << config_path_;
  auto result = config::load_file(config_path_);
  std::vector<std::string> errors;
  for (auto& e : result.errors) errors.push_back(e.str());
  if (result.ok()) {
    if (result.config->global.control_socket != cfg_.global.control_socket)
      errors.push_back(config_path_ +
                       ": error: control_socket cannot change on reload (restart the daemon)");
  }
  auto reject = [&](const char* what) {
    ++reloads_failed_;
    last_reload_errors_ = errors;
    for (auto& e : errors) HD_LOG(error, "config") << e;
    HD_LOG(error, "director") << "reload " << what << " (" << errors.size()
                              << " error(s)); still running config generation " << generation_;
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
  for (; k < subsystems_.size(); ++k) {
    if (auto err = subsystems_[k]->reload(cfg_, next); !err.empty()) {
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
  ++generation_;
  ++reloads_ok_;
  degraded_ = false;
  last_reload_errors_.clear();
  loaded_at_ = wall_seconds();
  HD_LOG(info, "director") << "reload applied: config generation " << generation_;
  systemd::status("running, config generation " + std::to_string(generation_));
  systemd::ready();
  return {true, generation_, {}};
}

void Director::stop() {
  if (stopping_) return;
  stopping_ = true;
  systemd::stopping();
  HD_LOG(info, "director") << "stopping";
  for (auto it = subsystems_.rbegin(); it != subsystems_.rend(); ++it) (*it)->stop();
  // Let stop hooks (notify scripts) finish, for at most 5 s, then leave the loop.
  drain_deadline_ = SteadyClock::now() + std::chrono::seconds(5);
  drain_timer_ = std::make_unique<Timer>(loop_, [this] {
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

std::string Director::handle_request(const std::string& line) {
  switch (control::parse_request(line)) {
    case control::Request::status:
      return status_text();
    case control::Request::reload: {
      auto r = reload();
      std::string out;
      for (auto& e : r.errors) out += "error: " + e + "\n";
      out +=
          (r.ok ? "ok: running config generation " : "failed: still running config generation ") +
          std::to_string(r.generation) + "\n";
      return out;
    }
    case control::Request::status_json:
      return status_json(true) + "\n";
    case control::Request::unknown:
      break;
  }
  return "error: unknown request '" + line + "' (try: status, status --json, reload)\n";
}

std::string Director::status_json(bool pretty) const {
  JsonWriter w(pretty);
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
  w.end_object();
  for (auto& s : subsystems_) s->status(w);
  w.end_object();
  return w.str();
}

std::string Director::metrics_text() const {
  metrics::Writer w(last_metrics_size_ + last_metrics_size_ / 8);
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
  for (auto& s : subsystems_) s->metrics(w);
  last_metrics_size_ = w.text().size();
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
  for (auto& s : subsystems_) s->status_text(out);
  return out;
}

}  // namespace hd
