// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/lvs_subsystem.h"

#include <unordered_map>

#include <cerrno>

#include "daemon/events.h"
#include "daemon/overrides.h"

#include "core/log.h"
#include "ipvs/netlink_backend.h"
#include "nftables/backend.h"
#include "nftables/render.h"

namespace hd {
ipvs::Result<std::unique_ptr<ipvs::Backend>> open_nftables_backend() {
  // The drift sweep's listing is read in the backend's own thread: ~200 ms at 1,000 services.
  auto b = nft::NftablesBackend::open(nft::ListingMode::background);
  if (!b) return b.error();
  return std::unique_ptr<ipvs::Backend>(std::move(b.value()));
}

std::string remove_leftover_nftables() {
  return nft::nf_tables_loaded() ? nft::remove_leftover_table() : "";
}

ipvs::Result<std::unique_ptr<ipvs::Backend>> open_netlink_backend() {
  auto b = ipvs::NetlinkBackend::open();
  if (!b) return b.error();
  return std::unique_ptr<ipvs::Backend>(std::move(b.value()));
}

LvsSubsystem::LvsSubsystem(Loop& loop, BackendOpener open_backend, const Clock& clock)
    : loop_(loop),
      open_backend_(std::move(open_backend)),
      clock_(clock),
      soon_(loop, [this] { reconcile_changed(); }),
      periodic_(loop, [this] { start_sweep(); }),
      sweep_(loop, [this] { sweep_step(); }),
      ramp_(loop, [this] { reconcile_now(); }),
      drain_poll_(loop, [this] {
        pending_full_ = true;
        reconcile_now();
      }) {}

LvsSubsystem::~LvsSubsystem() { stop(); }

std::string LvsSubsystem::start(const config::Config& cfg) {
  global_ = cfg.global;
  running_ = true;
  specs_ = to_ipvs_specs(cfg);
  index_specs();
  refresh_metric_labels();
  service_keys_.clear();
  for (auto& vs : cfg.virtual_servers) service_keys_.emplace(vs.key(), service_key(vs));
  kernel_ = cfg.global.dataplane != config::Dataplane::none && !cfg.virtual_servers.empty();
  // A previous run's nftables table (this one programs IPVS or nothing) would DNAT the VIPs
  // ahead of IPVS: removed.
  if (cfg.global.dataplane != config::Dataplane::nftables && !cfg.virtual_servers.empty() &&
      remove_leftover_nft_)
    if (auto gone = remove_leftover_nft_(); !gone.empty()) HD_LOG(warning, "ipvs") << gone;
  std::set<std::string> adopted;
  if (kernel_) {
    const bool nft = cfg.global.dataplane == config::Dataplane::nftables;
    if (nft && !open_nft_) return "dataplane = \"nftables\": not available in this build";
    auto b = nft ? open_nft_() : open_backend_();
    if (!b) return b.error().message;
    backend_ = std::move(b.value());
    // Everything in the nftables table is ours (a previous run's services the config no
    // longer has are removed at the first reconcile); IPVS's other services are foreign.
    std::set<ipvs::ServiceKey> owned;
    if (nft)
      if (auto table = backend_->dump())
        for (auto& [key, svc] : *table) owned.insert(key);
    reconciler_ = std::make_unique<ipvs::Reconciler>(*backend_, clock_, std::move(owned));
    // Adopt: real servers already serving (weight > 0) in our services start as up.
    if (auto table = backend_->dump()) {
      for (auto& spec : specs_) {
        auto it = table->find(spec.key);
        if (it == table->end()) continue;
        for (auto& r : spec.reals) {
          // Weight 0 is also a serving server when an operator put it there (a drain, or a
          // runtime weight 0, restored from the state file): starting it as down would cut
          // the connections the drain is waiting for.
          auto a = admin_.find(r.id);
          bool zero_by_operator = a != admin_.end() &&
                                  (a->second.mode == ipvs::AdminOverride::Mode::drain ||
                                   (a->second.weight && *a->second.weight == 0));
          if (auto* d = it->second.find(r.dest.key); d && (d->weight > 0 || zero_by_operator))
            adopted.insert(r.id);
        }
      }
      if (!adopted.empty())
        HD_LOG(info, "ipvs") << "adopting " << adopted.size()
                             << " real server(s) already serving in the kernel";
    }
    const auto& t = cfg.global.ipvs_timeouts;
    if (t.tcp.count() || t.tcpfin.count() || t.udp.count()) {
      ipvs::Timeouts to;
      auto secs = [](Duration d) -> std::optional<std::chrono::seconds> {
        if (d == Duration::zero()) return std::nullopt;
        return std::chrono::duration_cast<std::chrono::seconds>(d);
      };
      to.tcp = secs(t.tcp);
      to.tcp_fin = secs(t.tcpfin);
      to.udp = secs(t.udp);
      if (auto r = backend_->set_timeouts(to); !r) return "ipvs timeouts: " + r.error().message;
    }
  }
  auto targets = to_check_targets(cfg, adopted);
  for (auto& t : targets) {
    ipvs::RealHealth h;
    h.up = t.spec.initial_up;
    h.up_since = TimePoint{};
    health_[t.id] = h;
  }
  checkers::Checker::Options options;
  options.clock = &clock_;
  checker_ = std::make_unique<checkers::Checker>(
      loop_, [this](const checkers::Change& c) { on_change(c); }, std::move(options));
  checker_->start(std::move(targets));
  configure_handover(cfg);
  configure_conntrackd(cfg);
  if (kernel_) {
    pending_full_ = true;
    reconcile_now();
    periodic_.start(cfg.global.reconcile_interval, cfg.global.reconcile_interval);
    if (cfg.global.lvs_sync_daemon) start_sync_roles();
  } else {
    quorum_.clear();
    reconcile_now();  // no reconciler: computes the desired table for status
  }
  return "";
}

std::string LvsSubsystem::reload(const config::Config& old_cfg, const config::Config& new_cfg) {
  bool was_kernel = kernel_;
  bool now_kernel =
      new_cfg.global.dataplane != config::Dataplane::none && !new_cfg.virtual_servers.empty();
  if (!running_ || was_kernel != now_kernel ||
      old_cfg.global.dataplane != new_cfg.global.dataplane) {
    // Leaving nftables: its table would keep DNATing the VIPs ahead of IPVS (prerouting),
    // frozen, whatever ipvs_on_stop says.
    if (running_ && old_cfg.global.dataplane == config::Dataplane::nftables &&
        new_cfg.global.dataplane != config::Dataplane::nftables)
      if (auto* nb = dynamic_cast<nft::NftablesBackend*>(backend_.get())) {
        auto r = nb->remove_table();
        HD_LOG(info, "ipvs") << "dataplane no longer nftables: "
                             << (r ? "removed table ip " + std::string(nft::kTable)
                                   : r.error().message);
      }
    // Switching dataplane (or starting from nothing): restart the subsystem.
    stop();
    return start(new_cfg);
  }
  global_ = new_cfg.global;
  configure_handover(new_cfg);
  configure_conntrackd(new_cfg);
  if (reload_part(old_cfg, new_cfg)) {
    if (kernel_) {
      periodic_.start(new_cfg.global.reconcile_interval, new_cfg.global.reconcile_interval);
      if (new_cfg.global.lvs_sync_daemon != old_cfg.global.lvs_sync_daemon) {
        stop_sync_roles();
        if (new_cfg.global.lvs_sync_daemon) start_sync_roles();
      }
    }
    if (!changed_.empty()) reconcile_changed();
    tell_quorum();  // virtual servers may have come or gone
    return "";
  }
  specs_ = to_ipvs_specs(new_cfg);
  index_specs();
  refresh_metric_labels();
  service_keys_.clear();
  for (auto& vs : new_cfg.virtual_servers) service_keys_.emplace(vs.key(), service_key(vs));
  // Keep the health of real servers whose check did not change.
  std::set<std::string> old_reals;
  for (auto& vs : old_cfg.virtual_servers)
    for (auto& rs : vs.real_servers) old_reals.insert(real_server_id(vs, rs));
  auto targets = to_check_targets(new_cfg, {});
  ipvs::HealthMap next;
  for (auto& t : targets) {
    auto old = checker_->spec(t.id);  // what it runs now
    auto it = health_.find(t.id);
    if (!old && old_reals.count(t.id)) {
      // It had no check, so it was up and serving: it stays up until its new check says
      // otherwise, like a server whose check changed.
      t.spec.initial_up = true;
    } else if (old) {
      checkers::Spec b = t.spec;
      b.initial_up = old->initial_up;
      if (*old == b) {
        t.spec = *old;  // unchanged: the checker keeps its state and schedule
      } else if (it != health_.end() && it->second.up) {
        // A changed check restarts, but a server that is up stays up until the new check
        // says otherwise: a reload must not pull healthy servers out of rotation.
        t.spec.initial_up = true;
      }
    }
    if (it != health_.end()) {
      next[t.id] = it->second;
    } else {
      ipvs::RealHealth h;
      h.up = t.spec.initial_up;
      next[t.id] = h;
    }
  }
  health_ = std::move(next);
  checker_->update(std::move(targets));
  if (kernel_) {
    periodic_.start(new_cfg.global.reconcile_interval, new_cfg.global.reconcile_interval);
    pending_full_ = false;  // one change -> one operation: plan from what we know
    reconcile_now();
    if (new_cfg.global.lvs_sync_daemon != old_cfg.global.lvs_sync_daemon) {
      // Restarted with the new settings: the master role again once the instance is MASTER
      // (the VRRP subsystem re-reports it).
      stop_sync_roles();
      if (new_cfg.global.lvs_sync_daemon) start_sync_roles();
    }
  } else {
    reconcile_now();
  }
  return "";
}

void LvsSubsystem::stop() {
  if (!running_) return;
  running_ = false;
  handover_.reset();  // its tables go
  evaluated_ = false;
  soon_.stop();
  periodic_.stop();
  sweep_.stop();
  sweep_keys_.clear();
  sweep_services_.clear();
  ramp_.stop();
  drain_poll_.stop();
  if (checker_) checker_->stop();
  if (reconciler_) {
    auto policy = global_.ipvs_remove_on_stop ? ipvs::CleanupPolicy::remove_owned
                                                  : ipvs::CleanupPolicy::keep;
    auto r = reconciler_->cleanup(policy);
    if (policy == ipvs::CleanupPolicy::remove_owned)
      HD_LOG(info, "ipvs") << "removed our services on stop (" << r.applied << " operation(s))";
  }
  stop_sync_roles();
  checker_.reset();
  ++metrics_gen_;  // a scrape in progress starts over (and finds nothing)
  reconciler_.reset();
  backend_.reset();
  health_.clear();
  quorum_.clear();
}

void LvsSubsystem::on_change(const checkers::Change& c) {
  ++health_changes_;
  if (events_)
    events_->publish("check", [&](JsonWriter& e) {
      e.field("real_server", c.id).field("up", c.up).field("reason", c.reason);
      e.key("weight");
      if (c.weight)
        e.value(*c.weight);
      else
        e.null();
    });
  auto& h = health_[c.id];
  if (c.up && !h.up) h.up_since = c.at;
  h.up = c.up;
  h.weight_override = c.weight;
  auto vs = service_keys_.find(std::string(virtual_server_key_of(c.id)));
  if (vs != service_keys_.end())
    changed_.insert(vs->second);
  else
    recompute_all_ = true;  // not one of ours by name: let the whole table decide
  if (!soon_.active()) soon_.start(Millis(1));
}

bool LvsSubsystem::reload_part(const config::Config& old_cfg, const config::Config& new_cfg) {
  const auto& now_vs = new_cfg.virtual_servers;
  std::unordered_map<std::string, const config::VirtualServer*> old_by_key;
  old_by_key.reserve(old_cfg.virtual_servers.size());
  for (auto& vs : old_cfg.virtual_servers) old_by_key.emplace(vs.key(), &vs);
  // Each new virtual server's old self (nullptr: new), and whether it is unchanged.
  std::vector<const config::VirtualServer*> old_of(now_vs.size(), nullptr);
  std::vector<char> same(now_vs.size(), 0);
  size_t touched = 0;
  for (size_t i = 0; i < now_vs.size(); ++i) {
    auto it = old_by_key.find(now_vs[i].key());
    if (it != old_by_key.end()) {
      old_of[i] = it->second;
      same[i] = *it->second == now_vs[i];
      old_by_key.erase(it);  // what is left at the end was removed
    }
    touched += !same[i];
  }
  touched += old_by_key.size();
  if (touched > 64 && touched * 4 > now_vs.size()) return false;  // a rewrite: the full path

  // IPVS specs and metric labels: the unchanged ones moved over, the others made anew.
  std::vector<ipvs::VirtualServiceSpec> specs;
  std::vector<ServiceLabels> labels;
  specs.reserve(now_vs.size());
  labels.reserve(now_vs.size());
  for (size_t i = 0; i < now_vs.size(); ++i) {
    auto old = same[i] ? spec_index_.find(service_key(now_vs[i])) : spec_index_.end();
    if (old != spec_index_.end()) {
      specs.push_back(std::move(specs_[old->second]));
      labels.push_back(std::move(labels_[old->second]));
    } else {
      specs.push_back(to_ipvs_spec(now_vs[i]));
      labels.push_back(labels_of(specs.back()));
      changed_.insert(specs.back().key);
    }
  }
  specs_ = std::move(specs);
  labels_ = std::move(labels);
  ++metrics_gen_;
  index_specs();
  service_keys_.clear();
  for (auto& vs : now_vs) service_keys_.emplace(vs.key(), service_key(vs));

  // Checks and health of the changed and removed virtual servers only.
  std::vector<checkers::Target> targets;
  std::vector<std::string> stopped;
  for (auto& [key, old] : old_by_key) {
    auto k = service_key(*old);
    changed_.insert(k);
    desired_.erase(k);
    quorum_.erase(k);
    for (auto& rs : old->real_servers) {
      stopped.push_back(real_server_id(*old, rs));
      health_.erase(stopped.back());
    }
  }
  for (size_t i = 0; i < now_vs.size(); ++i) {
    if (same[i]) continue;
    const auto& vs = now_vs[i];
    std::set<std::string> old_ids, now_ids;
    if (old_of[i])
      for (auto& rs : old_of[i]->real_servers) old_ids.insert(real_server_id(*old_of[i], rs));
    for (auto& rs : vs.real_servers) {
      std::string id = real_server_id(vs, rs);
      if (!rs.check) {  // unchecked: always up, no check runs
        health_.erase(id);
        stopped.push_back(id);
      }
      now_ids.insert(std::move(id));
    }
    for (auto& id : old_ids)
      if (!now_ids.count(id)) {
        health_.erase(id);
        stopped.push_back(id);
      }
    size_t from = targets.size();
    append_check_targets(vs, targets);
    for (size_t j = from; j < targets.size(); ++j) {
      auto& t = targets[j];
      // As in the full path: an unchanged check keeps its state; a changed one restarts,
      // but a server that is up (or had no check) stays up until the new check says not.
      auto old = checker_->spec(t.id);
      auto h = health_.find(t.id);
      if (!old && old_ids.count(t.id)) {
        t.spec.initial_up = true;
      } else if (old) {
        checkers::Spec b = t.spec;
        b.initial_up = old->initial_up;
        if (*old == b)
          t.spec = *old;
        else if (h != health_.end() && h->second.up)
          t.spec.initial_up = true;
      }
      if (h == health_.end()) {
        ipvs::RealHealth fresh;
        fresh.up = t.spec.initial_up;
        health_[t.id] = fresh;
      }
    }
  }
  checker_->update_part(std::move(targets), stopped);
  return true;
}

void LvsSubsystem::index_specs() {
  spec_index_.clear();
  any_slow_start_ = false;
  for (size_t i = 0; i < specs_.size(); ++i) {
    spec_index_[specs_[i].key] = i;
    any_slow_start_ = any_slow_start_ || specs_[i].slow_start > Duration::zero();
  }
}

void LvsSubsystem::set_overrides(Overrides& o) {
  overrides_ = &o;
  ipvs::AdminMap next = o.admin_map();
  TimePoint now = clock_.now();
  // Back from drain or maint: ramp up again, as a server whose check came back does.
  for (auto& [id, a] : admin_) {
    auto n = next.find(id);
    bool back = a.mode != ipvs::AdminOverride::Mode::none &&
                (n == next.end() || n->second.mode == ipvs::AdminOverride::Mode::none);
    if (!back) continue;
    auto h = health_.find(id);
    if (h == health_.end()) {
      ipvs::RealHealth up;
      up.up_since = now;
      health_[id] = up;  // a server without a check: always up
    } else if (h->second.up) {
      h->second.up_since = now;
    }
  }
  admin_ = std::move(next);
  drains_.clear();
  double wall = wall_seconds();
  for (auto& [id, deadline] : o.open_drains()) {
    std::optional<TimePoint> at;
    if (deadline)
      at = now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*deadline - wall));
    drains_[id] = at;
  }
  if (!running_) return;
  reconcile_now();
}

void LvsSubsystem::check_drains(bool fresh) {
  if (drains_.empty()) {
    drain_poll_.stop();
    return;
  }
  TimePoint now = clock_.now();
  const std::optional<ipvs::Table>* kernel = reconciler_ ? &reconciler_->known() : nullptr;
  std::vector<std::pair<std::string, std::string>> done;  // id, why
  for (auto& [drain_id, deadline] : drains_) {
    const std::string& id = drain_id;  // a plain reference: lambdas below capture it
    if (deadline && now >= *deadline) {
      done.emplace_back(id, "its drain timeout passed");
      continue;
    }
    if (!reconciler_) {
      done.emplace_back(id, "no IPVS table to wait on (dataplane none)");
      continue;
    }
    if (!fresh || !*kernel) continue;
    for (auto& spec : specs_) {
      auto r = std::find_if(spec.reals.begin(), spec.reals.end(),
                            [&](const ipvs::RealSpec& x) { return x.id == id; });
      if (r == spec.reals.end()) continue;
      const ipvs::Service* svc = find_service(**kernel, spec.key);
      const ipvs::Destination* d = svc ? svc->find(r->dest.key) : nullptr;
      if (!d)
        done.emplace_back(id, "it is no longer in the kernel's table");
      else if (d->weight == 0 && d->counters && d->counters->active_conns == 0)
        done.emplace_back(id, "no active connection is left");
      break;
    }
  }
  for (auto& entry : done) {
    const std::string& id = entry.first;
    const std::string& why = entry.second;
    HD_LOG(info, "ipvs") << id << ": drain done (" << why << "): out of rotation";
    if (events_)
      events_->publish("override", [&](JsonWriter& e) {
        e.field("real_server", id).field("override", "drained").field("reason", why);
      });
    drains_.erase(id);
    if (overrides_) overrides_->drain_done(id, why);
    admin_[id].mode = ipvs::AdminOverride::Mode::out;
  }
  if (!done.empty()) schedule_reconcile(false);
  if (drains_.empty())
    drain_poll_.stop();
  else if (!drain_poll_.active())
    drain_poll_.start(std::chrono::seconds(1), std::chrono::seconds(1));
}

void LvsSubsystem::configure_handover(const config::Config& cfg) {
  // Only with VRRP: nothing hands over to a director without it.
  if (!kernel_ || cfg.global.dataplane != config::Dataplane::kernel ||
      !cfg.global.handover_forwarding || cfg.vrrp_instances.empty()) {
    handover_.reset();
    return;
  }
  // Each instance forwards the TCP services on its sync group's VIPs and their NAT real
  // servers (a gateway instance: those of the service instance it shares fate with).
  std::map<std::string, const config::VrrpInstance*> by_name;
  for (auto& vi : cfg.vrrp_instances) by_name[vi.name] = &vi;
  std::map<IpAddress, std::set<std::string>> owners;  // VIP -> the instances it concerns
  for (auto& vi : cfg.vrrp_instances)
    for (auto& member : config::sync_group_of(cfg, vi.name))
      if (auto m = by_name.find(member); m != by_name.end())
        for (auto& v : m->second->vips) owners[v.prefix.address].insert(vi.name);
  nft::HandoverServicesByInstance s;
  for (auto& vi : cfg.vrrp_instances) s[vi.name];
  for (auto& vs : cfg.virtual_servers) {
    if (vs.protocol != config::Protocol::tcp || vs.fwmark || !vs.address) continue;
    auto it = owners.find(*vs.address);
    if (it == owners.end()) continue;
    for (auto& name : it->second) {
      auto& mine = s[name];
      mine.services.push_back({*vs.address, static_cast<uint16_t>(vs.port)});
      for (auto& rs : vs.real_servers)
        if (rs.forwarding.value_or(vs.forwarding) == config::Forwarding::nat)
          mine.nat_reals.push_back({rs.address, static_cast<uint16_t>(rs.port)});
    }
  }
  for (auto it = followed_.begin(); it != followed_.end();)
    it = s.count(it->first) ? std::next(it) : followed_.erase(it);  // instance gone
  if (!handover_) {
    handover_ = std::make_unique<HandoverForwarding>(
        handover_timers_, handover_apply_ ? handover_apply_ : nft::run_nft_script);
    handover_->set_services(std::move(s));
    if (auto err = handover_->remove_leftovers(); !err.empty()) {
      HD_LOG(warning, "ipvs") << "handover forwarding is off: nftables refused its table ("
                              << err << "); handshakes that cross a switchover may be lost";
      handover_.reset();
      return;
    }
    for (auto& entry : followed_) handover_->notice(entry.second);
    return;
  }
  handover_->set_services(std::move(s));
}

void LvsSubsystem::on_takeover(const TakeoverNotice& n) {
  // Kept, so that forwarding made anew (a reload that turned it on) knows whom each Backup
  // follows; a takeover's window is not replayed.
  if (n.phase == TakeoverNotice::Phase::follow)
    followed_[n.instance] = n;
  else
    followed_.erase(n.instance);
  if (running_ && handover_) handover_->notice(n);
}

void LvsSubsystem::configure_conntrackd(const config::Config& cfg) {
  if (!cfg.global.conntrackd) {
    conntrackd_.reset();
  } else if (!conntrackd_ || conntrackd_->config() != *cfg.global.conntrackd) {
    // Changed by a reload (a command of the old one still running is killed): conntrackd is
    // told the followed instance's state at once when it is known, else at its first transition.
    conntrackd_ = std::make_unique<ConntrackdSync>(loop_, *cfg.global.conntrackd);
    if (auto r = vrrp_roles_.find(cfg.global.conntrackd->vrrp_instance); r != vrrp_roles_.end())
      conntrackd_->on_state(r->second);
  }
}

void LvsSubsystem::on_vrrp_state(const std::string& instance, bool master, bool fault) {
  const SyncRole role = master ? SyncRole::master : fault ? SyncRole::fault : SyncRole::backup;
  vrrp_roles_[instance] = role;
  if (running_ && conntrackd_ && conntrackd_->config().vrrp_instance == instance)
    conntrackd_->on_state(role);
  if (!running_ || !kernel_ || !global_.lvs_sync_daemon) return;
  if (global_.lvs_sync_daemon->vrrp_instance != instance) return;
  // The master role starts with the first MASTER and then stays: a director that hands over
  // keeps forwarding for its linger (and what is in flight), and what it forwards must still
  // reach the new Master; stopping the role would also discard the messages it holds.
  if (master) start_sync_role(ipvs::SyncState::master);
}

void LvsSubsystem::start_sync_roles() {
  // The backup role always runs: whichever director is Master, the other one holds its
  // connections, and during a handover both do. Without a VRRP instance to follow (directors
  // that all forward: announce = "bgp"), the master role runs from the start too.
  start_sync_role(ipvs::SyncState::backup);
  if (global_.lvs_sync_daemon && global_.lvs_sync_daemon->vrrp_instance.empty())
    start_sync_role(ipvs::SyncState::master);
}

void LvsSubsystem::start_sync_role(ipvs::SyncState role) {
  const bool master = role == ipvs::SyncState::master;
  bool& on = master ? sync_master_ : sync_backup_;
  if (!backend_ || on || !global_.lvs_sync_daemon) return;
  const auto& sd = *global_.lvs_sync_daemon;
  ipvs::SyncDaemon d;
  d.state = role;
  d.interface = sd.interface;
  d.sync_id = static_cast<uint8_t>(sd.sync_id);
  if (master && sd.max_message > 0) d.max_len = static_cast<uint16_t>(sd.max_message);
  auto r = backend_->start_sync_daemon(d);
  if (!r && r.error().code == EEXIST) {
    // Left running by an earlier run of ours that did not stop (SIGKILL): it goes on.
    HD_LOG(info, "ipvs") << "connection sync daemon: the " << (master ? "master" : "backup")
                         << " role was already running; keeping it";
    on = true;
    return;
  }
  if (!r) {
    sync_error_ = r.error().message;
    HD_LOG(error, "ipvs") << "starting the " << (master ? "master" : "backup")
                          << " sync daemon on " << sd.interface << ": " << sync_error_;
    return;
  }
  sync_error_.clear();
  on = true;
  HD_LOG(info, "ipvs") << "connection sync daemon: " << (master ? "master" : "backup")
                       << " role on " << sd.interface << " (sync id " << sd.sync_id << ")";
}

void LvsSubsystem::stop_sync_roles() {
  if (backend_) {
    if (sync_master_) (void)backend_->stop_sync_daemon(ipvs::SyncState::master);
    if (sync_backup_) (void)backend_->stop_sync_daemon(ipvs::SyncState::backup);
  }
  sync_master_ = sync_backup_ = false;
}

}  // namespace hd
