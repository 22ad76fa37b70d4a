// One VRRP instance at run time: binds the pure Fsm to its ports (where adverts
// go, the VIPs' address manager, the announcer, link state) and its timers, on
// the VRRP thread's loop. The engine gives it real ports; tests give fakes.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/loop.h"
#include "vrrp/announce.h"
#include "vrrp/fsm.h"
#include "vrrp/socket.h"
#include "rtnl/address.h"
#include "rtnl/link.h"

namespace hd::vrrp {

// A VIP: an address the instance holds on its interface while Master.
using VipSpec = rtnl::AddressSpec;

// What an instance acts on, all owned by its engine (or a test).
struct InstancePorts {
  AdvertSender& adverts;
  rtnl::AddressManager& addresses;
  Announcements& announcer;
  const rtnl::LinkState& links;
};

struct InstanceConfig {
  std::string name;
  std::string interface;
  int ifindex = 0;
  Params params;  // primary_ip filled by the engine from the interface (or unicast_source)
  std::vector<VipSpec> vips;
  std::optional<IpAddress> unicast_source;
  std::vector<IpAddress> unicast_peers;
  std::string auth_pass;  // v2 only
  int garp_count = 5;
  Duration garp_spacing = Millis(100);
  Duration garp_refresh = Duration::zero();
  Duration garp_second_burst = std::chrono::seconds(2);
  std::vector<std::string> track_interfaces;
  std::string sync_group;  // members share FAULT
  friend bool operator==(const InstanceConfig&, const InstanceConfig&) = default;
};

struct InstanceCounters {
  uint64_t adverts_sent = 0;
  uint64_t adverts_received = 0;
  uint64_t send_errors = 0;
  uint64_t became_master = 0;
  uint64_t vips_restored = 0;
  uint64_t address_list_mismatch = 0;
  uint64_t unknown_peer = 0;  // unicast mode: adverts from addresses not in unicast_peers
  DropCounters drops;
};

struct InstanceStatus {
  std::string name;
  std::string interface;
  int vrid = 0;
  int version = 3;
  State state = State::initialize;
  int base_priority = 0;
  int effective_priority = 0;
  std::string primary_ip;
  std::string master_ip;
  double master_down_interval_s = 0;
  double advert_interval_s = 0;
  double last_transition_wall = 0;
  std::string last_reason;
  std::vector<std::string> vips;
  std::vector<std::string> down_interfaces;
  InstanceCounters counters;
  uint64_t garp_sent = 0;
};

struct Transition {
  std::string instance;
  State from;
  State to;
  std::string reason;
};

class Instance {
 public:
  Instance(Loop& loop, const Clock& clock, InstanceConfig cfg, InstancePorts ports,
           std::function<void(const Transition&)> on_transition);
  ~Instance();

  const InstanceConfig& config() const { return cfg_; }
  State state() const { return fsm_.state(); }
  void start();
  // Leaves the protocol: a Master sends priority 0 and releases its VIPs.
  void shutdown();
  void on_packet(const RxPacket& p);
  void on_link(const std::string& ifname, bool up);
  void on_address_removed(int ifindex, const IpAddress& a);
  void set_priority(int priority);
  // Track scripts: the effective priority, and a fault reason (empty: none).
  void set_tracking(int priority, const std::string& script_fault);
  // This instance's own fault reason (interfaces, scripts), "" when none.
  std::string own_fault() const;
  // Sync group: another member's fault ("" clears it).
  void set_group_fault(const std::string& reason);
  InstanceStatus status() const;

 private:
  void feed(const Event& e);
  void execute(const Actions& actions);
  void send_advert(uint8_t priority);
  ExpectedParams expected() const;
  std::vector<IpAddress> vip_addresses() const;

  const Clock& clock_;
  InstanceConfig cfg_;
  InstancePorts ports_;
  std::function<void(const Transition&)> on_transition_;
  Fsm fsm_;
  Timer advert_timer_;
  Timer master_down_timer_;
  Timer garp_refresh_timer_;
  Timer garp_second_timer_;
  bool vips_held_ = false;
  std::vector<std::string> down_;  // tracked interfaces that are down
  std::string script_fault_;       // a weight-0 track script is failing
  std::string group_fault_;        // another member of the sync group is in FAULT
  bool faulted_ = false;
  int tracked_priority_ = -1;
  void update_fault();
  double last_transition_wall_ = 0;
  InstanceCounters counters_;
};

}  // namespace hd::vrrp
