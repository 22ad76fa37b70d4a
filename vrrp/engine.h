// The VRRP engine: every instance, their sockets and the kernel watchers, on a
// thread and libev loop of their own that nothing else runs on, so health
// checks or IPVS work can never delay an advert. Optionally SCHED_FIFO.
// Everything crosses threads as messages: configuration in (closures run on
// the VRRP loop), transitions out (callback on the VRRP thread, which the
// daemon forwards to its own loop), status as a snapshot under a mutex.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/loop.h"
#include "vrrp/instance.h"

namespace hd::vrrp {

struct EngineOptions {
  bool realtime = false;
  int rt_priority = 10;
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
};

class Engine {
 public:
  explicit Engine(std::function<void(const Transition&)> on_transition);
  ~Engine();

  // Resolves interfaces and primary addresses, opens sockets, starts the
  // thread. Returns "" or a one-line error (nothing is left running then).
  std::string start(std::vector<InstanceConfig> instances, EngineOptions opts);
  // Applies the difference: removed instances leave (priority 0 if Master),
  // new ones start, changed ones restart, a priority-only change is applied in place.
  // Returns "" or an error (the old instances keep running then).
  std::string reload(std::vector<InstanceConfig> instances);
  // Orderly stop: every Master sends priority 0 and releases its VIPs.
  void stop();
  EngineStatus status() const;
  // Track-script results for an instance: effective priority and a fault reason ("" = none).
  // Thread-safe: applied on the VRRP loop.
  void set_tracking(const std::string& instance, int priority, std::string fault);

  // Fills ifindex and primary address (interface's first IPv4 address that is not a VIP, or its
  // IPv6 link-local; unicast_source when given). Returns "" or an error.
  static std::string resolve(InstanceConfig& cfg);

 private:
  struct SocketEntry;
  std::string prepare(std::vector<InstanceConfig>& instances);
  Socket* socket_for(const InstanceConfig& c, std::string& error);
  void on_readable(SocketEntry& s);
  void run_on_loop(std::function<void()> f);  // runs f on the VRRP thread and waits
  void publish();
  // Sync groups share FAULT: a member's own fault faults every other member.
  void sync_groups();

  std::function<void(const Transition&)> on_transition_;
  RealClock clock_;
  std::unique_ptr<Loop> loop_;
  std::unique_ptr<Mailbox<std::function<void()>>> inbox_;
  std::unique_ptr<NetlinkAddressManager> addresses_;
  std::unique_ptr<LinkMonitor> monitor_;
  std::map<std::pair<std::string, int>, std::unique_ptr<SocketEntry>> sockets_;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::unique_ptr<Timer> publish_timer_;
  std::thread thread_;
  bool running_ = false;
  bool realtime_ = false;
  bool dirty_ = false;  // a transition since the last publish (VRRP thread only)
  mutable std::mutex mu_;
  EngineStatus snapshot_;
};

}  // namespace hd::vrrp
