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
#include "daemon/systemd_notify.h"
#include "daemon/lvs_subsystem.h"
#include "daemon/metrics_subsystem.h"
#include "daemon/realserver_subsystem.h"
#include "daemon/vrrp_subsystem.h"

namespace hd {
namespace {
std::set<std::string> instance_names(const config::Config& cfg);
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
      control_(loop, [this](const control::Peer& peer, const std::string& line) {
        return answer(peer, line);
      }) {
  // Last: started after (and stopped before) what it reports on.
  subsystems_.push_back(std::make_unique<MetricsSubsystem>(
      loop, [this] { return metrics_steps(); }, [this] { return unhealthy(); }));
  events_.set_sink([this](const std::string& line) { control_.broadcast(line); },
                   [this] { return control_.subscribers() > 0; });
  for (auto& s : subsystems_) s->set_events(events_);
}

Director::~Director() {
  if (parser_.joinable()) parser_.join();  // its result is dropped with the mailbox
  // control_ goes before the subsystems, which may still publish while they stop.
  events_.set_sink(nullptr, nullptr);
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
  for (auto& line : overrides_.prune(real_server_ids(cfg_), instance_names(cfg_), false))
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
  if (!r.later) return r.text;
  std::optional<std::string> text;
  r.later([&text](std::string t) { text = std::move(t); });
  while (!text) loop_.run_once();
  return *text;
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
  if (auto dropped = overrides_.reals().empty() && overrides_.holds().empty()
                         ? std::vector<std::string>{}
                         : overrides_.prune(real_server_ids(cfg_), instance_names(cfg_));
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

namespace {

std::string refuse(const char* code, const std::string& error) {
  JsonWriter w;
  w.begin_object().field("ok", false).field("code", code).field("error", error).end_object();
  return w.str() + "\n";
}

constexpr size_t kMaxSubscribers = 16;

std::set<std::string> instance_names(const config::Config& cfg) {
  std::set<std::string> out;
  for (auto& vi : cfg.vrrp_instances) out.insert(vi.name);
  return out;
}

// A Unix time as the ctl answers and status show it (seconds, to the millisecond).
double wall_ms(double t) { return std::round(t * 1000) / 1000; }

}  // namespace

control::Reply Director::answer(const control::Peer& peer, const std::string& line) {
  auto parsed = control::parse_command(line);
  if (!parsed.command) {
    return refuse("bad_request", parsed.error);
  }
  const control::Command& c = *parsed.command;
  if (auto why = control::authorize(peer, control::access_of(c.verb), access_); !why.empty()) {
    HD_LOG(warning, "control") << "refused '" << control::to_string(c.verb) << "' from "
                               << peer.str() << " (pid " << peer.pid << "): " << why;
    if (control::answers_text(c.verb)) return "error: " + why + "\n";
    return refuse("forbidden", why);
  }
  switch (c.verb) {
    case control::Verb::status_text:
      return status_text();
    case control::Verb::status_json:
      // Written a slice per loop turn, answered when complete.
      return control::Reply::deferred([this](control::Send send) {
        status_jobs_.push_back(StatusJob{JsonWriter(true), status_steps(), 0, std::move(send)});
        // The size of the last one (+1/8), or ~450 bytes a real server the first time: no
        // copies of a growing 38 MB string on the loop.
        if (last_status_size_ == 0) {
          size_t reals = 0;
          for (auto& vs : cfg_.virtual_servers) reals += vs.real_servers.size();
          last_status_size_ = 64 * 1024 + 450 * reals;
        }
        status_jobs_.back().w.reserve(last_status_size_ + last_status_size_ / 8);
        if (!status_timer_)
          status_timer_ = std::make_unique<Timer>(loop_, [this] { write_status_slices(); });
        if (!status_timer_->active()) status_timer_->start(Duration::zero());
      });
    case control::Verb::reload: {
      HD_LOG(info, "control") << "reload requested by " << peer.str() << " (pid " << peer.pid
                              << ")";
      // Answered once the file is parsed (off the loop) and applied.
      return control::Reply::deferred([this](control::Send send) {
        request_reload([send = std::move(send)](const ReloadOutcome& r) {
          std::string out;
          for (auto& e : r.errors) out += "error: " + e + "\n";
          out += (r.ok ? "ok: running config generation "
                       : "failed: still running config generation ") +
                 std::to_string(r.generation) + "\n";
          send(std::move(out));
        });
      });
    }
    case control::Verb::show: {
      JsonWriter w;
      w.begin_object().field("ok", true).key("status");
      run_all(status_steps(), w);
      w.end_object();
      return w.str() + "\n";
    }
    case control::Verb::overrides: {
      JsonWriter w;
      w.begin_object().field("ok", true).key("overrides");
      overrides_.status(w);
      w.key("holds");
      overrides_.holds_status(w);
      w.end_object();
      return w.str() + "\n";
    }
    case control::Verb::drain:
    case control::Verb::ready:
    case control::Verb::maint:
    case control::Verb::weight:
    case control::Verb::clear:
      return change_real_server(peer, c);
    case control::Verb::hold:
    case control::Verb::failover:
    case control::Verb::release:
      return change_instance(peer, c);
    case control::Verb::events: {
      if (control_.subscribers() >= kMaxSubscribers)
        return refuse("busy", "already " + std::to_string(kMaxSubscribers) +
                                  " event subscribers: close one first");
      HD_LOG(info, "control") << "event subscriber " << peer.str() << " (pid " << peer.pid << ")";
      JsonWriter w;
      w.begin_object().field("ok", true).field("subscribed", true);
      w.field("seq", events_.published()).end_object();
      return control::Reply(w.str() + "\n", true);
    }
  }
  return refuse("bad_request", "unknown request");
}

std::string Director::change_instance(const control::Peer& peer, const control::Command& c) {
  if (stopping_) return refuse("busy", "the daemon is stopping");
  bool known = false;
  std::string all;
  for (auto& vi : cfg_.vrrp_instances) {
    known = known || vi.name == c.instance;
    all += (all.empty() ? "'" : ", '") + vi.name + "'";
  }
  if (!known)
    return refuse("not_found", "no VRRP instance '" + c.instance + "'" +
                                   (all.empty() ? " (none is configured)" : " (configured: " + all + ")"));
  std::optional<InstanceHold> h;
  if (c.verb == control::Verb::release) {
    // A hold covers its sync group: releasing any member releases the holds that cover it.
    auto members = config::sync_group_of(cfg_, c.instance);
    std::set<std::string> group(members.begin(), members.end());
    const auto holds = overrides_.holds();  // a copy: set_hold changes the store
    for (auto& entry : holds) {
      const std::string& name = entry.first;
      if (name != c.instance && group.count(name)) {
        if (auto err = overrides_.set_hold(name, std::nullopt); !err.empty())
          return refuse("io", "not applied: cannot save the overrides: " + err);
        HD_LOG(info, "overrides") << name << ": released with " << c.instance << " (sync group)";
      }
    }
  } else {
    h = InstanceHold{c.verb == control::Verb::failover ? InstanceHold::Mode::failover
                                                       : InstanceHold::Mode::hold,
                     peer.str(), wall_ms(wall_seconds())};
  }
  if (auto err = overrides_.set_hold(c.instance, h); !err.empty()) {
    HD_LOG(error, "overrides") << control::to_string(c.verb) << " " << c.instance << " by "
                               << peer.str() << " not applied: cannot save " << overrides_.path()
                               << ": " << err;
    return refuse("io", "not applied: cannot save the overrides: " + err);
  }
  HD_LOG(info, "overrides") << c.instance << ": " << control::to_string(c.verb) << " by "
                            << peer.str() << " (pid " << peer.pid << ")";
  events_.publish("override", [&](JsonWriter& e) {
    e.field("vrrp_instance", c.instance).field("command", control::to_string(c.verb));
    e.field("override", h ? to_string(h->mode) : "none").field("by", peer.str());
  });
  push_overrides();
  JsonWriter w;
  w.begin_object().field("ok", true).field("vrrp_instance", c.instance);
  w.field("override", h ? to_string(h->mode) : "none").end_object();
  return w.str() + "\n";
}

std::string Director::change_real_server(const control::Peer& peer, const control::Command& c) {
  if (stopping_) return refuse("busy", "the daemon is stopping");
  auto r = resolve_real_server(cfg_, c.vs, c.rs);
  if (r.id.empty()) return refuse("not_found", r.error);
  const RealOverride* old = overrides_.find(r.id);
  RealOverride o = old ? *old : RealOverride{};
  double now = wall_ms(wall_seconds());
  using Mode = RealOverride::Mode;
  switch (c.verb) {
    case control::Verb::drain:
      // Draining again restarts the drain with the new timeout; a finished one stays out.
      if (o.mode != Mode::drained && o.mode != Mode::maint) {
        o.mode = Mode::drain;
        o.deadline.reset();
        if (c.timeout) o.deadline = wall_ms(now + std::chrono::duration<double>(*c.timeout).count());
      }
      break;
    case control::Verb::ready:
      o.mode = Mode::none;
      o.deadline.reset();
      break;
    case control::Verb::maint:
      o.mode = Mode::maint;
      o.deadline.reset();
      break;
    case control::Verb::weight:
      o.weight = c.weight;
      break;
    case control::Verb::clear:
      o = RealOverride{};
      break;
    default:
      return refuse("bad_request", "not a real-server request");
  }
  if (old ? (o == *old) : o == RealOverride{}) {
    // Nothing changes (draining a drained server, readying one in rotation): no new author.
    JsonWriter w;
    w.begin_object().field("ok", true).field("real_server", r.id);
    w.field("override", describe(o)).field("changed", false).end_object();
    return w.str() + "\n";
  }
  o.by = peer.str();
  o.at = now;
  if (auto err = overrides_.set(r.id, o); !err.empty()) {
    HD_LOG(error, "overrides") << control::to_string(c.verb) << " " << r.id << " by " << peer.str()
                               << " not applied: cannot save " << overrides_.path() << ": " << err;
    return refuse("io", "not applied: cannot save the overrides: " + err);
  }
  HD_LOG(info, "overrides") << r.id << ": " << control::to_string(c.verb) << " by " << peer.str()
                            << " (pid " << peer.pid << "): now " << describe(o);
  events_.publish("override", [&](JsonWriter& e) {
    e.field("real_server", r.id).field("command", control::to_string(c.verb));
    e.field("override", describe(o)).field("by", o.by);
  });
  push_overrides();
  JsonWriter w;
  w.begin_object().field("ok", true).field("real_server", r.id);
  const RealOverride* now_o = overrides_.find(r.id);
  w.field("override", now_o ? describe(*now_o) : std::string("none"));
  w.end_object();
  return w.str() + "\n";
}

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
  for (auto it = status_jobs_.begin(); it != status_jobs_.end();) {
    StatusJob& job = *it;
    while (job.next < job.steps.size() && SteadyClock::now() < until)
      if (job.steps[job.next](job.w)) ++job.next;
    if (job.next < job.steps.size()) break;  // out of time: the next turn goes on
    std::string text = job.w.take();
    text += '\n';
    last_status_size_ = text.size();
    job.send(std::move(text));
    it = status_jobs_.erase(it);
  }
  if (!status_jobs_.empty()) status_timer_->start(Duration::zero());
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
  metrics::Writer w(last_metrics_size_ + last_metrics_size_ / 8);
  // Subsystems may change between slices only when the loop runs: not here.
  metrics::run_all(metrics_steps(), w);
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
  for (auto& [id, o] : overrides_.reals())
    out += "override " + id + ": " + describe(o) + " (set by " + o.by + ")\n";
  for (auto& [name, h] : overrides_.holds())
    out += "vrrp instance " + name + ": " + to_string(h.mode) + " (set by " + h.by + ")\n";
  for (auto& s : subsystems_) s->status_text(out);
  return out;
}

}  // namespace hd
