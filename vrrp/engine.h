// SPDX-License-Identifier: GPL-2.0-or-later
// The VRRP engine: every instance, their sockets and the kernel watchers, on a
// thread and libev loop of their own that nothing else runs on, so health
// checks or IPVS work can never delay an advert. Optionally SCHED_FIFO.
// Everything crosses threads as messages: configuration in (closures run on
// the VRRP loop), transitions out (callback on the VRRP thread, which the
// daemon forwards to its own loop), status as a snapshot under a mutex.
// The kernel is reached through EngineKernel, so tests drive the engine with
// fakes. start() and reload() are all-or-nothing: everything that can fail
// (resolution, sockets) is done before any running instance is touched.
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "vrrp/instance.h"

namespace hd::vrrp {

// What the engine needs from the kernel. KernelPorts is the real one.
class EngineKernel {
 public:
  virtual ~EngineKernel() = default;
  // Fills ifindex and the primary address (the interface's first IPv4 address that is not a
  // VIP, or its IPv6 link-local; unicast_source when given). Returns "" or an error.
  virtual std::string resolve(InstanceConfig& cfg) = 0;
  // A VRRP socket on the interface (multicast group joined). nullptr and error on failure.
  virtual std::unique_ptr<Channel> open_channel(Family family, const std::string& ifname,
                                                int ifindex, std::string& error) = 0;
  virtual std::unique_ptr<rtnl::AddressManager> address_manager(Loop& loop,
                                                                std::string& error) = 0;
  virtual std::unique_ptr<rtnl::LinkEvents> watch_links(Loop& loop, rtnl::LinkCallbacks cb,
                                                        std::string& error) = 0;
  virtual std::unique_ptr<Announcements> announcer(Loop& loop, const std::string& ifname,
                                                   int ifindex) = 0;
  virtual const rtnl::LinkState& links() const = 0;
};

class KernelPorts final : public EngineKernel {
 public:
  std::string resolve(InstanceConfig& cfg) override;
  std::unique_ptr<Channel> open_channel(Family family, const std::string& ifname, int ifindex,
                                        std::string& error) override;
  std::unique_ptr<rtnl::AddressManager> address_manager(Loop& loop, std::string& error) override;
  std::unique_ptr<rtnl::LinkEvents> watch_links(Loop& loop, rtnl::LinkCallbacks cb,
                                                std::string& error) override;
  std::unique_ptr<Announcements> announcer(Loop& loop, const std::string& ifname,
                                           int ifindex) override;
  const rtnl::LinkState& links() const override { return links_; }

 private:
  rtnl::KernelLinkState links_;
};

struct EngineOptions {
  bool realtime = false;
  int rt_priority = 10;
  // CPUs the VRRP thread may run on (empty: any). keepalived's vrrp_cpu_affinity.
  std::vector<int> cpus;
  // How long reload() waits for the VRRP thread to take the change before giving up (the
  // change is then never applied, and reload() says so).
  Duration reload_patience = std::chrono::seconds(5);
};

struct SocketStatus {
  std::string interface;
  std::string family;
  uint64_t unknown_vrid = 0;
  uint64_t malformed = 0;
};

struct EngineStatus {
  std::vector<InstanceStatus> instances;
  std::vector<SocketStatus> sockets;
  bool realtime = false;
  uint64_t address_errors = 0;
  uint64_t log_lines_dropped = 0;  // VRRP-thread log lines dropped while the drain was full
  bool handing_over = false;  // some instance lingers or waits for a taker (Instance::handing_over)
};

class Engine {
 public:
  // `kernel`: nullptr for the real one (KernelPorts); tests pass a fake that outlives the engine.
  explicit Engine(std::function<void(const Transition&)> on_transition,
                  EngineKernel* kernel = nullptr);
  ~Engine();

  // Resolves interfaces and primary addresses, opens sockets, starts the
  // thread. Returns "" or a one-line error (nothing is left running then).
  std::string start(std::vector<InstanceConfig> instances, EngineOptions opts);
  // Applies the difference: removed instances leave (priority 0 if Master),
  // new ones start, changed ones restart, a priority-only change is applied in place.
  // Returns "" or an error (the old instances keep running then).
  std::string reload(std::vector<InstanceConfig> instances);
  // The first half of a stop that loses nothing: every Master hands over as for `ctl hold`
  // (priority 0, the VIPs kept for handover_linger once another router holds them, or
  // until Master_Down_Interval if none does). The caller waits while
  // status().handing_over, then calls stop().
  void begin_handover();
  // Orderly stop: every Master sends priority 0 and releases its VIPs.
  void stop();
  EngineStatus status() const;
  // Before start(): the VRRP thread's log lines go to `main` (a Mailbox, bounded at 1,024
  // lines in flight, drops counted in status) and are written there by `write`, so a slow
  // standard error (a full pipe to the journal) never delays an advert. Without it, the
  // thread writes its lines itself.
  void set_log_drain(Loop& main,
                     std::function<void(std::string_view)> write = log::write_line);
  // Track-script results for an instance: effective priority and a fault reason ("" = none).
  // Thread-safe: applied on the VRRP loop.
  void set_tracking(const std::string& instance, int priority, std::string fault);
  // hadirector ctl hold / failover / release for one instance (the caller includes its sync
  // group). Remembered: an instance (re)created later (start, reload, a new interface) starts
  // held. Before start() it only records; then thread-safe, applied on the VRRP loop.
  void set_hold(const std::string& instance, bool on, bool failover);

  // The real resolution (KernelPorts::resolve).
  static std::string resolve(InstanceConfig& cfg);

 private:
  struct SocketEntry;
  struct Running;
  using SocketKey = std::pair<std::string, int>;  // interface, 4 or 6
  using SocketMap = std::map<SocketKey, std::unique_ptr<SocketEntry>>;
  std::string prepare(std::vector<InstanceConfig>& instances);
  static SocketKey key_of(const InstanceConfig& c);
  // Opens, into `staged`, the sockets `configs` need that neither sockets_ nor staged has.
  // Returns "" or the first error (then `staged` is to be dropped).
  std::string open_sockets(const std::vector<const InstanceConfig*>& configs, SocketMap& staged);
  std::unique_ptr<Running> make_instance(const InstanceConfig& c);
  void close_unused_sockets();
  void on_readable(SocketEntry& s);
  // Runs f on the VRRP thread and waits for it. If the thread has not taken f within
  // `patience`, f is abandoned (it will never run) and false is returned; once taken, it is
  // waited for. f must own what it uses when patience is finite.
  bool run_on_loop(std::function<void()> f,
                   Duration patience = std::chrono::hours(24 * 365));
  void publish();
  // Applies `next` (resolved) on the VRRP thread: the body of reload(). "" or an error, in
  // which case nothing running was touched.
  std::string apply(std::vector<InstanceConfig>& next, const std::string& why = "reload");
  // An instance's interface deleted and made again (a link event with another ifindex for
  // its name): its instances restart on the new interface with new sockets. Tried again
  // every second while the new interface cannot be resolved yet (no address on it).
  void rebind_moved_interfaces();
  // Sync groups share FAULT: a member's own fault faults every other member.
  void sync_groups();
  // A member of `group` is ready to announce (or the group's wait is over): announce the
  // members group_announcements() names, or wait (at most kGroupAnnounceWait) for the rest.
  void group_announce(const std::string& group, bool waited_out);

  std::function<void(const Transition&)> on_transition_;
  std::unique_ptr<EngineKernel> own_kernel_;
  EngineKernel& kernel_;
  RealClock clock_;
  std::unique_ptr<Loop> loop_;
  std::unique_ptr<Mailbox<std::function<void()>>> inbox_;
  std::unique_ptr<rtnl::AddressManager> addresses_;
  std::unique_ptr<rtnl::LinkEvents> monitor_;
  SocketMap sockets_;
  std::vector<std::unique_ptr<Running>> instances_;
  std::set<std::string> held_;  // VRRP thread once running
  std::unique_ptr<Timer> publish_timer_;
  std::unique_ptr<Timer> sync_soon_;  // sync_groups() on the next turn
  std::unique_ptr<Timer> rebind_retry_;
  std::map<std::string, std::unique_ptr<Timer>> group_announce_wait_;  // by sync group
  std::map<std::string, int> moved_;  // interface -> its new ifindex, until rebound
  std::thread thread_;
  bool running_ = false;
  Duration reload_patience_ = std::chrono::seconds(5);
  std::atomic<bool> realtime_{false};  // written by the starting thread, read by the VRRP one
  std::unique_ptr<Mailbox<std::string>> log_drain_;
  std::function<void(std::string_view)> log_write_;
  std::atomic<int> log_in_flight_{0};
  bool dirty_ = false;  // a transition since the last publish (VRRP thread only)
  int affinity_error_ = 0;  // set by the VRRP thread before start() reads it (rt_future)
  mutable PiMutex mu_;  // the status snapshot's pointer (shared with the main thread)
  std::shared_ptr<const EngineStatus> snapshot_;
};

}  // namespace hd::vrrp
