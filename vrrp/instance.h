// SPDX-License-Identifier: GPL-2.0-or-later
// One VRRP instance at run time: binds the pure Fsm to its ports (where adverts
// go, the VIPs' address manager, the announcer, link state) and its timers, on
// the VRRP thread's loop. The engine gives it real ports; tests give fakes.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/loop.h"
#include "vrrp/announce.h"
#include "vrrp/auth.h"
#include "vrrp/fsm.h"
#include "vrrp/socket.h"
#include "vrrp/sync_group.h"
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
  // Added and removed with vips, but not advertised (so not bound by what an advert carries).
  std::vector<VipSpec> excluded_vips;
  std::optional<IpAddress> unicast_source;
  std::vector<IpAddress> unicast_peers;
  // Multicast: when not empty, adverts from other sources are dropped (unicast_peers plays this
  // part for unicast instances).
  std::vector<IpAddress> peers;
  std::string auth_pass;  // v2 only
  // Authenticated adverts (vrrp/auth.h): signed and verified as the mode says.
  std::optional<AuthConfig> auth;
  int garp_count = 5;
  Duration garp_spacing = Millis(100);
  Duration garp_refresh = Duration::zero();
  Duration garp_second_burst = std::chrono::seconds(2);
  std::vector<std::string> track_interfaces;
  // A tracking fault already known when the instance starts (a track file read before the
  // engine starts): it starts in FAULT instead of being faulted a moment after Startup (an
  // address owner would be MASTER for that moment). Not part of the instance's identity: a
  // reload that changes only this restarts nothing.
  struct StartFault {
    std::string reason;
    friend bool operator==(const StartFault&, const StartFault&) { return true; }
  } start_fault;
  std::string sync_group;  // members share FAULT, and announce together (vrrp/sync_group.h)
  // In a sync group: none of its VIPs carries a virtual service (a NAT gateway), so its
  // gratuitous ARP goes before the other members' (group_announcements).
  bool announce_first = false;
  // A VIP the kernel refuses while MASTER is retried with backoff (100 ms doubling to 1 s);
  // still missing after vip_fault_after, the instance goes to FAULT (the peer takes over)
  // for vip_fault_hold, then rejoins the election.
  Duration vip_fault_after = std::chrono::seconds(2);
  Duration vip_fault_hold = std::chrono::seconds(10);
  friend bool operator==(const InstanceConfig&, const InstanceConfig&) = default;
};

struct InstanceCounters {
  uint64_t adverts_sent = 0;
  uint64_t adverts_received = 0;
  uint64_t send_errors = 0;
  uint64_t became_master = 0;
  uint64_t master_down = 0;  // Master_Down_Timer expiries (the Master fell silent)
  uint64_t vips_restored = 0;
  uint64_t address_list_mismatch = 0;
  uint64_t unknown_peer = 0;  // adverts from addresses not in unicast_peers / peers
  // Accepted v3 adverts whose interval was not adopted (Params::adopt_interval_ratio).
  uint64_t interval_too_long = 0;
  uint64_t interval_too_short = 0;
  uint64_t vip_add_refused = 0;  // VIP adds the kernel refused while MASTER
  uint64_t vip_add_retries = 0;
  uint64_t vip_faults = 0;  // times a refused VIP put the instance in FAULT
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
  std::vector<std::string> excluded_vips;
  std::vector<std::string> down_interfaces;
  std::string vip_problem;  // "" or why a VIP is missing (kernel refusal) / the VIP fault
  bool held = false;        // hadirector ctl hold / failover: never becomes MASTER
  bool lingering = false;   // BACKUP still holding a handover's VIPs (handover_linger)
  bool handing_over = false;  // lingering, or a failover waiting for a taker
  InstanceCounters counters;
  // Authentication, when configured: the mode, the key ids (never a key) and the verdicts.
  struct Auth {
    AuthMode mode = AuthMode::enforce;
    AntiReplay anti_replay = AntiReplay::time;
    double window_s = 0;
    int active_key = 0;
    std::vector<int> key_ids;
    AuthCounters counters;
  };
  std::optional<Auth> auth;
  Fsm::AdvertTiming advert_timing;  // how late this Master's adverts left
  uint64_t garp_sent = 0;
};

struct Transition {
  std::string instance;
  State from;
  State to;
  std::string reason;
  bool held = false;  // held by an operator after it (false after a failover nobody took)
  bool failover_aborted = false;  // this is the Master taking its VIPs back after a failover
  // A live Master: the one this instance took over from (to MASTER; it lingers, see
  // Fsm::StateChanged::taken_from), or, with `follow`, the one this Backup follows now
  // (Fsm::followed(); nullopt: none). A follow notice is no state change (from == to): it
  // comes whenever the followed Master or `lingering` changes.
  std::optional<IpAddress> live_master;
  bool follow = false;
  // follow: this Backup still holds a handover's VIPs, and the Master it follows is not
  // handing over in turn (then its forwarding of the clients' strays is held back: the new
  // Master forwards its own to it meanwhile, and two such would bounce a packet neither
  // knows). Once that Master hands over (priority 0) it is released, before this instance's
  // takeover, so a switch back within the linger finds it written.
  bool lingering = false;
  std::string interface;   // the instance's
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
  // Its own interface and track_interfaces.
  bool tracks(const std::string& ifname) const;
  void on_address_removed(int ifindex, const IpAddress& a);
  // Link events were lost and re-read: a MASTER puts its VIPs back in case one was removed
  // unseen (adding one that is there is answered as success).
  void reassert_vips();
  // The kernel's answer to an address request (any owner's: ignored unless it is ours).
  void on_address_result(const rtnl::AddressResult& r);
  // Called when own_fault() changes, so the engine can share it with a sync group.
  void on_own_fault_change(std::function<void()> f) { on_own_fault_change_ = std::move(f); }
  void set_priority(int priority);
  // New keys, mode or anti-replay rule (a reload), without a restart: the sequences seen and
  // sent are kept, so neither a failover nor a replay window comes of it.
  void set_auth(std::optional<AuthConfig> auth);
  // Track scripts: the effective priority, and a fault reason (empty: none).
  void set_tracking(int priority, const std::string& script_fault);
  // hadirector ctl hold / failover (on) and release (see vrrp::Hold).
  void set_hold(bool on, bool failover);
  // A stopping daemon's Master hands over as for a hold (see Engine::begin_handover).
  void hand_over_for_stop();
  // This instance's own fault reason (interfaces, scripts), "" when none.
  std::string own_fault() const;
  // Sync group: another member's fault ("" clears it).
  void set_group_fault(const std::string& reason);
  InstanceStatus status() const;
  // Lingering, or a failover waiting for another router to take over: a stopping daemon
  // waits for this to end.
  bool handing_over() const { return fsm_.lingering() || fsm_.handover_pending(); }
  // A sync group's announcements (Engine): with a gate set, a new Master whose VIPs are in
  // the kernel calls it and waits (phase ready) until release_announce().
  void set_announce_gate(std::function<void()> gate) { announce_gate_ = std::move(gate); }
  AnnouncePhase announce_phase() const;
  void set_announce_first(bool first) { cfg_.announce_first = first; }
  void release_announce();

 private:
  void feed(const Event& e);
  void execute(const Actions& actions);
  void send_advert(uint8_t priority);
  // Pending gratuitous ARP bursts and refreshes, and VIP retries, stop (leaving Master).
  void stop_announcing();
  // The gratuitous ARP burst (and the later ones) of a new Master, once the kernel has
  // answered every VIP add of AddVips (or after kAnnounceWait): announcing an address the
  // kernel does not hold yet sends traffic to a director that cannot take it (it forwards it
  // to the old Master, which may already be letting go).
  void announce();
  // The VIPs are in the kernel (or kAnnounceWait passed): announce, or wait for the gate.
  void ready_to_announce();
  bool announce_ready_ = false;
  bool announced_as_master_ = false;  // since it last became MASTER
  std::function<void()> announce_gate_;
  std::set<IpAddress> adds_pending_;  // VIP adds the kernel has not answered yet
  bool announce_waiting_ = false;
  std::optional<TimePoint> linger_started_;
  // What the last follow notice told (Transition::follow): the followed Master, lingering.
  std::pair<std::optional<IpAddress>, bool> told_follow_{std::nullopt, false};
  void tell_follow();
  // Transition::lingering: lingering, and the Master it follows not handing over itself.
  bool clients_held_back() const { return fsm_.lingering() && !fsm_.master_leaving(); }
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
  // A new Master's last burst, once a lingering old Master has let go (Params::linger).
  Timer garp_after_linger_timer_;
  Timer linger_timer_;
  Timer announce_wait_timer_;  // announce() anyway after kAnnounceWait
  bool vips_held_ = false;
  std::vector<std::string> down_;  // tracked interfaces that are down
  std::string script_fault_;       // a weight-0 track script is failing
  std::string group_fault_;        // another member of the sync group is in FAULT
  std::string vip_fault_;          // a VIP the kernel kept refusing (held for vip_fault_hold)
  std::map<IpAddress, std::string> refused_;  // VIPs refused while MASTER -> the kernel's reason
  TimePoint refused_since_{};
  Duration retry_delay_{};
  Timer vip_retry_timer_;
  Timer vip_fault_timer_;
  std::function<void()> on_own_fault_change_;
  std::string last_own_fault_;
  void retry_vips();
  bool faulted_ = false;
  int tracked_priority_ = -1;
  void update_fault();
  double last_transition_wall_ = 0;
  InstanceCounters counters_;
  std::optional<Authenticator> auth_;
  // The wall clock the authenticator reads (microseconds since the epoch).
  uint64_t now_us() const { return wall_micros(); }
};

}  // namespace hd::vrrp
