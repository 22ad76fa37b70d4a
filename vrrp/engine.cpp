// SPDX-License-Identifier: GPL-2.0-or-later
#include "vrrp/engine.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>

#include <cstring>
#include <future>

#include "core/log.h"
#include "vrrp/sync_group.h"

namespace hd::vrrp {

struct Engine::SocketEntry {
  std::unique_ptr<Channel> socket;
  std::unique_ptr<IoWatcher> watcher;
  int ifindex = 0;  // of the interface it was opened on (an interface made again has another)
  uint64_t unknown_vrid = 0;
};

// An instance and the announcer it uses (declared first: it outlives the instance).
struct Engine::Running {
  std::unique_ptr<Announcements> announcer;
  std::unique_ptr<Instance> instance;
  Instance* operator->() const { return instance.get(); }
};

std::string KernelPorts::resolve(InstanceConfig& cfg) { return Engine::resolve(cfg); }

std::unique_ptr<Channel> KernelPorts::open_channel(Family family, const std::string& ifname,
                                                   int ifindex, std::string& error) {
  // Join the group even when every instance here is unicast: harmless, as only listed
  // peers are accepted then.
  return Socket::open(family, ifname, ifindex, true, error);
}

std::unique_ptr<rtnl::AddressManager> KernelPorts::address_manager(Loop& loop, std::string& error) {
  return rtnl::NetlinkAddressManager::create(loop, error, "vrrp");
}

std::unique_ptr<rtnl::LinkEvents> KernelPorts::watch_links(Loop& loop, rtnl::LinkCallbacks cb,
                                                           std::string& error) {
  return rtnl::LinkMonitor::create(loop, std::move(cb), error);
}

std::unique_ptr<Announcements> KernelPorts::announcer(Loop& loop, const std::string& ifname,
                                                      int ifindex) {
  return std::make_unique<Announcer>(loop, ifname, ifindex);
}

namespace {
// How long a sync group member ready to announce waits for the rest of its group.
constexpr Duration kGroupAnnounceWait = std::chrono::milliseconds(100);

EngineKernel* or_real(EngineKernel* k, std::unique_ptr<EngineKernel>& own) {
  if (k) return k;
  own = std::make_unique<KernelPorts>();
  return own.get();
}
}  // namespace

Engine::Engine(std::function<void(const Transition&)> on_transition, EngineKernel* kernel)
    : on_transition_(std::move(on_transition)), kernel_(*or_real(kernel, own_kernel_)) {}

Engine::~Engine() { stop(); }

std::string Engine::resolve(InstanceConfig& cfg) {
  cfg.ifindex = static_cast<int>(if_nametoindex(cfg.interface.c_str()));
  if (cfg.ifindex == 0) return "interface " + cfg.interface + " does not exist";
  for (auto& v : cfg.vips) v.ifindex = cfg.ifindex;
  for (auto& v : cfg.excluded_vips) v.ifindex = cfg.ifindex;
  // An instance without VIPs is VRRP version 2: IPv4.
  Family fam = cfg.vips.empty() ? Family::v4 : cfg.vips.front().address.family();
  if (cfg.unicast_source) {
    cfg.params.primary_ip = *cfg.unicast_source;
    return "";
  }
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) < 0) return "getifaddrs failed";
  std::optional<IpAddress> found;
  for (ifaddrs* i = list; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr || cfg.interface != i->ifa_name) continue;
    if (fam == Family::v4 && i->ifa_addr->sa_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      auto a = IpAddress::from_bytes(
          Family::v4, std::span<const uint8_t>(reinterpret_cast<uint8_t*>(&sin->sin_addr), 4));
      auto same = [&](const VipSpec& v) { return v.address == *a; };
      bool is_vip = std::any_of(cfg.vips.begin(), cfg.vips.end(), same) ||
                    std::any_of(cfg.excluded_vips.begin(), cfg.excluded_vips.end(), same);
      if (a && !is_vip) found = a;
    } else if (fam == Family::v6 && i->ifa_addr->sa_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
        found = IpAddress::from_bytes(
            Family::v6, std::span<const uint8_t>(reinterpret_cast<uint8_t*>(&sin6->sin6_addr), 16));
    }
  }
  freeifaddrs(list);
  if (!found)
    return "interface " + cfg.interface + " has no " +
           (fam == Family::v4 ? "IPv4 address" : "IPv6 link-local address") +
           " to send adverts from (VRRP needs one besides the VIPs)";
  cfg.params.primary_ip = *found;
  return "";
}

std::string Engine::prepare(std::vector<InstanceConfig>& instances) {
  for (auto& c : instances) {
    if (auto err = kernel_.resolve(c); !err.empty()) return c.name + ": " + err;
    if (auto err = validate(c.params)) return c.name + ": " + *err;
  }
  return "";
}

Engine::SocketKey Engine::key_of(const InstanceConfig& c) {
  return {c.interface, c.params.primary_ip.family() == Family::v4 ? 4 : 6};
}

std::string Engine::open_sockets(const std::vector<const InstanceConfig*>& configs,
                                 SocketMap& staged) {
  for (const InstanceConfig* c : configs) {
    auto key = key_of(*c);
    if (staged.count(key)) continue;
    if (auto it = sockets_.find(key); it != sockets_.end() && it->second->ifindex == c->ifindex)
      continue;
    std::string error;
    auto sock = kernel_.open_channel(c->params.primary_ip.family(), c->interface, c->ifindex, error);
    if (!sock) return c->name + ": " + error;
    auto entry = std::make_unique<SocketEntry>();
    entry->socket = std::move(sock);
    entry->ifindex = c->ifindex;
    SocketEntry* raw = entry.get();
    entry->watcher = std::make_unique<IoWatcher>(*loop_, raw->socket->fd(), EV_READ,
                                                 [this, raw](int) { on_readable(*raw); });
    // A VRRP thread that wakes late (a loaded host) finds both the adverts that arrived in
    // time and its expired Master_Down timer: the adverts are read first, so the timer is
    // reset by them instead of declaring a live Master dead.
    entry->watcher->set_priority(IoWatcher::kMaxPriority);
    staged.emplace(key, std::move(entry));
  }
  return "";
}

std::unique_ptr<Engine::Running> Engine::make_instance(const InstanceConfig& c) {
  auto r = std::make_unique<Running>();
  r->announcer = kernel_.announcer(*loop_, c.interface, c.ifindex);
  Channel& ch = *sockets_.at(key_of(c))->socket;
  r->instance = std::make_unique<Instance>(
      *loop_, clock_, c, InstancePorts{ch, *addresses_, *r->announcer, kernel_.links()},
      [this](const Transition& t) {
        dirty_ = true;
        if (on_transition_) on_transition_(t);
      });
  if (!c.sync_group.empty())
    r->instance->set_announce_gate([this, g = c.sync_group] { group_announce(g, false); });
  if (held_.count(c.name)) r->instance->set_hold(true, false);
  r->instance->on_own_fault_change([this] {
    if (sync_soon_ && !sync_soon_->active()) sync_soon_->start(Duration::zero());
  });
  return r;
}

void Engine::close_unused_sockets() {
  for (auto it = sockets_.begin(); it != sockets_.end();) {
    bool used = std::any_of(instances_.begin(), instances_.end(),
                            [&](auto& r) { return key_of(r->instance->config()) == it->first; });
    it = used ? std::next(it) : sockets_.erase(it);
  }
}

void Engine::on_readable(SocketEntry& s) {
  for (int i = 0; i < 256; ++i) {
    auto p = s.socket->receive();
    if (!p) break;
    auto vrid = peek_vrid(p->payload);
    bool delivered = false;
    if (vrid) {
      for (auto& inst : instances_) {
        const auto& c = (*inst)->config();
        if (c.params.vrid == *vrid && c.interface == s.socket->ifname() &&
            c.params.primary_ip.family() == s.socket->family()) {
          (*inst)->on_packet(*p);
          delivered = true;
          break;
        }
      }
    }
    if (!delivered) ++s.unknown_vrid;
  }
  // Counters reach status with the 200 ms timer; a state change is published at once.
  if (dirty_) publish();
}

std::string Engine::start(std::vector<InstanceConfig> instances, EngineOptions opts) {
  if (running_) return "already running";
  if (auto err = prepare(instances); !err.empty()) return err;
  auto loop = std::make_unique<Loop>();
  loop_ = std::move(loop);
  // Everything that can fail first; on failure nothing is left behind.
  auto fail = [&](std::string error) {
    sync_soon_.reset();
    rebind_retry_.reset();
    instances_.clear();
    sockets_.clear();
    monitor_.reset();
    addresses_.reset();
    loop_.reset();
    return error;
  };
  std::string error;
  addresses_ = kernel_.address_manager(*loop_, error);
  if (!addresses_) return fail(error);
  // The kernel's answers reach the instance whose VIP it is (a refused VIP is retried and,
  // if it stays refused, faults the instance).
  addresses_->on_result([this](const rtnl::AddressResult& r) {
    for (auto& i : instances_) (*i)->on_address_result(r);
    dirty_ = true;
  });
  // An instance's own fault changing outside link and tracking events (a refused VIP) is
  // shared with its sync group on the next loop turn, never inside its own transition.
  sync_soon_ = std::make_unique<Timer>(*loop_, [this] {
    sync_groups();
    publish();
  });
  rebind_retry_ = std::make_unique<Timer>(*loop_, [this] { rebind_moved_interfaces(); });
  monitor_ = kernel_.watch_links(
      *loop_,
      rtnl::LinkCallbacks{
          [this](int ifindex, const std::string& ifname, bool up) {
            for (auto& i : instances_) {
              const InstanceConfig& c = (*i)->config();
              if (c.interface == ifname && c.ifindex != ifindex && ifindex > 0)
                moved_[ifname] = ifindex;
            }
            for (auto& i : instances_) {
              // An instance whose interface was made again stays in FAULT on its old,
              // deaf socket until it restarts on the new one.
              if (up && moved_.count((*i)->config().interface)) continue;
              (*i)->on_link(ifname, up);
            }
            if (!moved_.empty()) rebind_moved_interfaces();
            sync_groups();
            publish();
          },
          [this](int ifindex, const IpAddress& a, uint8_t) {
            for (auto& i : instances_) (*i)->on_address_removed(ifindex, a);
            publish();
          },
          [this] {
            for (auto& i : instances_) (*i)->reassert_vips();
            sync_groups();
            publish();
          }},
      error);
  if (!monitor_) return fail(error);
  std::vector<const InstanceConfig*> all;
  for (auto& c : instances) all.push_back(&c);
  SocketMap staged;
  if (auto err = open_sockets(all, staged); !err.empty()) {
    staged.clear();  // their watchers belong to the loop fail() drops
    return fail(err);
  }
  for (auto& [k, e] : staged) {
    e->watcher->start();
    sockets_.emplace(k, std::move(e));
  }
  for (auto& c : instances) instances_.push_back(make_instance(c));
  inbox_ = std::make_unique<Mailbox<std::function<void()>>>(
      *loop_, [](std::function<void()>&& f) { f(); });
  // Status snapshot refresh, so counters and timers are current without locking per packet.
  publish_timer_ = std::make_unique<Timer>(*loop_, [this] { publish(); });
  publish_timer_->start(Millis(200), Millis(200));
  for (auto& i : instances_) (*i)->start();
  sync_groups();
  publish();
  running_ = true;
  std::promise<bool> rt_ok;
  auto rt_future = rt_ok.get_future();
  reload_patience_ = opts.reload_patience;
  thread_ = std::thread([this, opts, &rt_ok] {
    pthread_setname_np(pthread_self(), "hd-vrrp");
    // Process-wide signals (SIGCHLD of check scripts, SIGHUP, SIGTERM) are the main loop's:
    // the kernel would otherwise hand one to this thread whenever the main thread already
    // has one pending, waking it for nothing. Faults stay deliverable.
    sigset_t mask;
    sigfillset(&mask);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS})
      sigdelset(&mask, sig);
    pthread_sigmask(SIG_BLOCK, &mask, nullptr);
    if (log_drain_)
      log::defer_this_thread([this](std::string&& line) {
        if (log_in_flight_.fetch_add(1) >= 1024) {
          log_in_flight_.fetch_sub(1);
          return false;
        }
        log_drain_->post(std::move(line));
        return true;
      });
    affinity_error_ = 0;
    if (!opts.cpus.empty()) {
      cpu_set_t set;
      CPU_ZERO(&set);
      for (int c : opts.cpus)
        if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &set);
      affinity_error_ = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    bool ok = false;
    if (opts.realtime) {
      sched_param sp{};
      sp.sched_priority = opts.rt_priority;
      ok = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
    }
    rt_ok.set_value(ok);
    loop_->run();
  });
  realtime_ = rt_future.get();
  if (affinity_error_ != 0)
    HD_LOG(warning, "vrrp") << "could not pin the VRRP thread to the CPUs of vrrp_cpu_affinity: "
                            << std::strerror(affinity_error_) << "; running on any CPU";
  if (opts.realtime && !realtime_)
    HD_LOG(warning, "vrrp") << "could not switch the VRRP thread to SCHED_FIFO "
                            << opts.rt_priority << " (needs CAP_SYS_NICE); running without";
  HD_LOG(info, "vrrp") << "engine started: " << instances_.size() << " instance(s)"
                       << (realtime_ ? ", SCHED_FIFO" : "");
  return "";
}

void Engine::set_log_drain(Loop& main, std::function<void(std::string_view)> write) {
  log_write_ = std::move(write);
  log_drain_ = std::make_unique<Mailbox<std::string>>(main, [this](std::string&& line) {
    log_in_flight_.fetch_sub(1);
    log_write_(line);
  });
}

bool Engine::run_on_loop(std::function<void()> f, Duration patience) {
  // pending -> running (the VRRP thread took it) or pending -> abandoned (the caller gave up
  // first): whichever wins decides, so an abandoned request never runs late.
  enum : int { kPending, kRunning, kAbandoned };
  struct Call {
    std::function<void()> f;
    std::atomic<int> state{kPending};
    std::promise<void> done;
  };
  auto call = std::make_shared<Call>();
  call->f = std::move(f);
  auto fut = call->done.get_future();
  inbox_->post([call] {
    int expected = kPending;
    if (!call->state.compare_exchange_strong(expected, kRunning)) return;
    call->f();
    call->done.set_value();
  });
  if (fut.wait_for(patience) == std::future_status::ready) return true;
  int expected = kPending;
  if (call->state.compare_exchange_strong(expected, kAbandoned)) return false;
  fut.wait();  // it is running: it finishes
  return true;
}

std::string Engine::apply(std::vector<InstanceConfig>& next, const std::string& why) {
  // What each running instance becomes: kept, kept with a new priority, or replaced.
  enum class Fate { keep, priority, replace, remove };
  std::vector<std::pair<Fate, const InstanceConfig*>> fate;
  for (auto& r : instances_) {
    const InstanceConfig& old_cfg = r->instance->config();
    auto it = std::find_if(next.begin(), next.end(),
                           [&](const InstanceConfig& c) { return c.name == old_cfg.name; });
    if (it == next.end()) {
      fate.push_back({Fate::remove, nullptr});
      continue;
    }
    // Priority, authentication and announcement order change on a running instance (no
    // restart, no failover).
    InstanceConfig in_place = *it;
    in_place.params.priority = old_cfg.params.priority;
    in_place.auth = old_cfg.auth;
    in_place.announce_first = old_cfg.announce_first;
    if (old_cfg == *it) fate.push_back({Fate::keep, &*it});
    else if (old_cfg == in_place) fate.push_back({Fate::priority, &*it});
    else fate.push_back({Fate::replace, &*it});
  }
  std::vector<const InstanceConfig*> starting;  // replaced ones and new ones
  for (auto& [f, c] : fate)
    if (f == Fate::replace) starting.push_back(c);
  for (auto& c : next)
    if (std::none_of(instances_.begin(), instances_.end(),
                     [&](auto& r) { return r->instance->config().name == c.name; }))
      starting.push_back(&c);
  // Sockets first: if one cannot be opened, nothing running has been touched.
  SocketMap staged;
  if (auto err = open_sockets(starting, staged); !err.empty()) return err;
  // Leave first, so a VRID moving between instances never runs twice.
  std::vector<std::unique_ptr<Running>> keep;
  for (size_t k = 0; k < instances_.size(); ++k) {
    auto& r = instances_[k];
    const InstanceConfig& old_cfg = r->instance->config();
    switch (fate[k].first) {
      case Fate::keep:
        keep.push_back(std::move(r));
        break;
      case Fate::priority:
        if (old_cfg.params.priority != fate[k].second->params.priority) {
          HD_LOG(info, "vrrp") << old_cfg.name << ": priority " << int(old_cfg.params.priority)
                               << " -> " << int(fate[k].second->params.priority) << " by " << why;
          r->instance->set_priority(fate[k].second->params.priority);
        }
        if (!(old_cfg.auth == fate[k].second->auth)) r->instance->set_auth(fate[k].second->auth);
        r->instance->set_announce_first(fate[k].second->announce_first);
        keep.push_back(std::move(r));
        break;
      case Fate::replace:
        HD_LOG(info, "vrrp") << old_cfg.name << ": changed by " << why << "; restarting it";
        r->instance->shutdown();
        break;
      case Fate::remove:
        HD_LOG(info, "vrrp") << old_cfg.name << ": removed by " << why;
        r->instance->shutdown();
        break;
    }
  }
  instances_ = std::move(keep);
  // A staged socket replaces one of the same key opened on an interface since made again
  // (the instances that used it were replaced above).
  for (auto& [k, e] : staged) {
    e->watcher->start();
    sockets_[k] = std::move(e);
  }
  for (const InstanceConfig* c : starting) {
    instances_.push_back(make_instance(*c));
    instances_.back()->instance->start();
  }
  close_unused_sockets();
  sync_groups();
  publish();
  return "";
}

void Engine::rebind_moved_interfaces() {
  if (moved_.empty()) return;
  // Every instance again, resolved afresh: those on a moved interface now carry its new
  // ifindex (and primary address), so apply() restarts them on new sockets.
  std::vector<InstanceConfig> next;
  for (auto& r : instances_) next.push_back(r->instance->config());
  std::string err = prepare(next);
  if (err.empty()) {
    for (auto& [ifname, ifindex] : moved_)
      HD_LOG(warning, "vrrp") << "interface " << ifname << " was made again (ifindex " << ifindex
                              << "): its instances restart on it";
    err = apply(next, "a new " + moved_.begin()->first);
  }
  if (!err.empty()) {
    // Nothing changed (the old sockets stay, deaf): try again until the interface is usable.
    if (!rebind_retry_->active())
      HD_LOG(warning, "vrrp") << "interface made again, not usable yet (" << err
                              << "): trying again every second";
    rebind_retry_->start(std::chrono::seconds(1));
    return;
  }
  rebind_retry_->stop();
  moved_.clear();
}

std::string Engine::reload(std::vector<InstanceConfig> next) {
  if (!running_) return "not running";
  if (auto err = prepare(next); !err.empty()) return err;
  // The closure owns what it uses: if the VRRP thread does not take it in time, the caller
  // returns and the closure is abandoned, never run.
  auto shared_next = std::make_shared<std::vector<InstanceConfig>>(std::move(next));
  auto shared_error = std::make_shared<std::string>();
  bool taken = run_on_loop([this, shared_next, shared_error] {
    *shared_error = apply(*shared_next);
  }, reload_patience_);
  if (!taken)
    return "the VRRP thread did not take the reload within " +
           std::to_string(std::chrono::duration_cast<Millis>(reload_patience_).count()) +
           " ms (it is stuck; nothing was changed)";
  return *shared_error;
}

void Engine::begin_handover() {
  if (!running_) return;
  run_on_loop(
      [this] {
        for (auto& i : instances_)
          if ((*i)->state() == State::master) (*i)->hand_over_for_stop();
        publish();
      },
      std::chrono::seconds(1));
}

void Engine::stop() {
  if (!running_) return;
  run_on_loop([&] {
    for (auto& i : instances_) (*i)->shutdown();
    publish();
    // Let the kernel take the last address removals before the socket closes.
    loop_->run_nowait();
    publish_timer_->stop();
    loop_->stop();
  });
  thread_.join();
  running_ = false;
  if (log_drain_) log_drain_->drain();  // the thread's last lines, before its loop goes
  instances_.clear();
  sockets_.clear();
  monitor_.reset();
  // Drain the remaining netlink acknowledgements synchronously-enough: one last non-blocking turn.
  loop_->run_nowait();
  sync_soon_.reset();
  rebind_retry_.reset();
  group_announce_wait_.clear();
  moved_.clear();
  addresses_.reset();
  publish_timer_.reset();
  inbox_.reset();
  loop_.reset();
}

void Engine::sync_groups() {
  std::vector<GroupFaultMember> members;
  for (auto& i : instances_)
    members.push_back({(*i)->config().name, (*i)->config().sync_group, (*i)->own_fault()});
  auto faults = group_faults(members);
  for (auto& i : instances_)
    if (auto it = faults.find((*i)->config().name); it != faults.end())
      (*i)->set_group_fault(it->second);
}

void Engine::group_announce(const std::string& group, bool waited_out) {
  std::vector<AnnounceMember> members;
  for (auto& i : instances_)
    members.push_back({(*i)->config().name, (*i)->config().sync_group, (*i)->announce_phase(),
                       (*i)->config().announce_first});
  const GroupAnnouncement a = group_announcements(members, group, waited_out);
  auto& wait = group_announce_wait_[group];
  if (a.wait) {
    if (!wait) wait = std::make_unique<Timer>(*loop_, [this, group] { group_announce(group, true); });
    if (!wait->active()) wait->start(kGroupAnnounceWait);
    return;
  }
  if (wait) wait->stop();
  if (a.now.empty()) return;
  if (waited_out && !a.awaited.empty()) {
    std::string late;
    for (auto& m : a.awaited) late += (late.empty() ? "" : ", ") + m;
    HD_LOG(warning, "vrrp") << "sync group " << group << ": announcing without waiting longer for "
                            << late;
  }
  for (auto& name : a.now)
    for (auto& i : instances_)
      if ((*i)->config().name == name) (*i)->release_announce();
}

void Engine::publish() {
  EngineStatus s;
  for (auto& i : instances_) {
    s.instances.push_back((*i)->status());
    s.handing_over = s.handing_over || s.instances.back().handing_over;
  }
  for (auto& [key, e] : sockets_)
    s.sockets.push_back(SocketStatus{key.first, key.second == 4 ? "inet" : "inet6",
                                     e->unknown_vrid, e->socket->malformed()});
  s.realtime = realtime_;
  s.log_lines_dropped = log::deferred_dropped();
  s.address_errors = addresses_ ? addresses_->errors() : 0;
  dirty_ = false;
  // Built outside the lock, swapped in under it: the main thread copies it outside the lock
  // too, so neither thread holds the lock for more than a pointer's copy.
  auto next = std::make_shared<const EngineStatus>(std::move(s));
  std::lock_guard lock(mu_);
  snapshot_.swap(next);
}

void Engine::set_tracking(const std::string& instance, int priority, std::string fault) {
  if (!running_) return;
  inbox_->post([this, instance, priority, fault] {
    for (auto& i : instances_)
      if ((*i)->config().name == instance) (*i)->set_tracking(priority, fault);
    sync_groups();
    publish();
  });
}

void Engine::set_hold(const std::string& instance, bool on, bool failover) {
  auto apply = [this, instance, on, failover](bool live) {
    if (on)
      held_.insert(instance);
    else
      held_.erase(instance);
    for (auto& i : instances_)
      if ((*i)->config().name == instance) (*i)->set_hold(on, failover);
    if (live) publish();
  };
  if (!running_) return apply(false);
  inbox_->post([apply] { apply(true); });
}

EngineStatus Engine::status() const {
  std::shared_ptr<const EngineStatus> s;
  {
    std::lock_guard lock(mu_);
    s = snapshot_;
  }
  return s ? *s : EngineStatus{};
}

}  // namespace hd::vrrp
