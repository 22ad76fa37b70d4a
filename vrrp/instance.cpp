// SPDX-License-Identifier: GPL-2.0-or-later
#include "vrrp/instance.h"

#include <algorithm>
#include <cstring>

#include "core/log.h"

namespace hd::vrrp {
namespace {
template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// How long a new Master's gratuitous ARP waits for the kernel to confirm its VIPs.
constexpr Duration kAnnounceWait = std::chrono::milliseconds(100);

// What the instance holds while MASTER, and announces: the advertised VIPs and the excluded.
std::vector<IpAddress> held_addresses(const InstanceConfig& c) {
  std::vector<IpAddress> ips;
  for (auto* list : {&c.vips, &c.excluded_vips})
    for (auto& v : *list) ips.push_back(v.address);
  return ips;
}
}  // namespace

Instance::Instance(Loop& loop, const Clock& clock, InstanceConfig cfg, InstancePorts ports,
                   std::function<void(const Transition&)> on_transition)
    : clock_(clock),
      cfg_(std::move(cfg)),
      ports_(ports),
      on_transition_(std::move(on_transition)),
      fsm_(cfg_.params),
      advert_timer_(loop, [this] { feed(AdvertTimerFired{}); }),
      master_down_timer_(loop,
                         [this] {
                           ++counters_.master_down;
                           feed(MasterDownTimerFired{});
                         }),
      garp_refresh_timer_(loop,
                          [this] {
                            ports_.announcer.burst(held_addresses(cfg_), 1, Duration::zero());
                          }),
      garp_second_timer_(loop,
                         [this] {
                           ports_.announcer.burst(held_addresses(cfg_), cfg_.garp_count,
                                                  cfg_.garp_spacing);
                         }),
      garp_after_linger_timer_(loop,
                               [this] {
                                 ports_.announcer.burst(held_addresses(cfg_), cfg_.garp_count,
                                                        cfg_.garp_spacing);
                               }),
      linger_timer_(loop, [this] { feed(LingerTimerFired{}); }),
      announce_wait_timer_(loop,
                           [this] {
                             HD_LOG(warning, "vrrp")
                                 << cfg_.name << ": the kernel has not confirmed "
                                 << adds_pending_.size() << " VIP(s) after "
                                 << std::chrono::duration_cast<Millis>(kAnnounceWait).count()
                                 << " ms; announcing anyway";
                             ready_to_announce();
                           }),
      vip_retry_timer_(loop, [this] { retry_vips(); }),
      vip_fault_timer_(loop, [this] {
        HD_LOG(info, "vrrp") << cfg_.name << ": VIP fault hold-down over; rejoining the election";
        vip_fault_.clear();
        update_fault();
      }) {
  if (cfg_.auth) auth_.emplace(*cfg_.auth);
}

Instance::~Instance() = default;

std::vector<IpAddress> Instance::vip_addresses() const {
  std::vector<IpAddress> ips;
  for (auto& v : cfg_.vips) ips.push_back(v.address);
  return ips;
}

bool Instance::tracks(const std::string& ifname) const {
  return ifname == cfg_.interface ||
         std::find(cfg_.track_interfaces.begin(), cfg_.track_interfaces.end(), ifname) !=
             cfg_.track_interfaces.end();
}

void Instance::start() {
  if (!cfg_.start_fault.reason.empty()) script_fault_ = cfg_.start_fault.reason;
  // Its own interface is always tracked: adverts cannot leave through a link that is down.
  if (!ports_.links.is_up(cfg_.interface)) down_.push_back(cfg_.interface);
  for (auto& ifname : cfg_.track_interfaces)
    if (ifname != cfg_.interface && !ports_.links.is_up(ifname)) down_.push_back(ifname);
  update_fault();
  feed(Startup{});
}

void Instance::shutdown() { feed(Shutdown{}); }

void Instance::feed(const Event& e) { execute(fsm_.handle(e, clock_.now())); }

ExpectedParams Instance::expected() const {
  ExpectedParams x;
  x.version = cfg_.params.version;
  x.family = cfg_.params.primary_ip.family();
  x.vrid = cfg_.params.vrid;
  if (!cfg_.auth_pass.empty()) {
    x.auth_type = 1;
    x.auth_password = make_password(cfg_.auth_pass);
  }
  x.advert_int_s = static_cast<uint8_t>(
      std::chrono::duration_cast<std::chrono::seconds>(cfg_.params.advert_interval).count());
  if (cfg_.auth) x.trailer_size = kAuthTrailerSize;
  return x;
}

void Instance::set_auth(std::optional<AuthConfig> auth) {
  if (!auth) {
    auth_.reset();
  } else if (auth_) {
    auth_->set_config(*auth);
  } else {
    auth_.emplace(*auth);
  }
  cfg_.auth = std::move(auth);
  HD_LOG(info, "vrrp") << cfg_.name << ": authentication "
                       << (cfg_.auth ? std::string(to_string(cfg_.auth->mode)) + ", signing with key " +
                                           std::to_string(cfg_.auth->active_key)
                                     : std::string("off"));
}

void Instance::on_packet(const RxPacket& p) {
  auto r = decode(p.payload, p.meta, expected());
  if (!r) {
    counters_.drops.add(r.reason());
    HD_LOG(debug, "vrrp") << cfg_.name << ": dropped advert from " << p.meta.source << ": "
                          << r.reason();
    return;
  }
  const auto& allowed = cfg_.unicast_peers.empty() ? cfg_.peers : cfg_.unicast_peers;
  if (!allowed.empty() &&
      std::find(allowed.begin(), allowed.end(), p.meta.source) == allowed.end()) {
    ++counters_.unknown_peer;
    HD_LOG(debug, "vrrp") << cfg_.name << ": ignored advert from " << p.meta.source
                          << " (not a listed peer)";
    return;
  }
  // After the peer list: an unlisted source costs no HMAC and touches no replay state.
  if (auth_) {
    const AuthVerdict v = auth_->check(
        p.payload, message_size(p.payload, cfg_.params.version, cfg_.params.primary_ip.family()),
        p.meta, now_us());
    if (!accepted(v)) {
      // Every rejection is counted; the log says the first of each kind and every 100th after.
      const uint64_t n = auth_->counters()[v];
      if (n == 1 || n % 100 == 0)
        HD_LOG(warning, "vrrp") << cfg_.name << ": rejected advert from " << p.meta.source
                                << " (priority " << int(r.advert().priority)
                                << "): authentication: " << to_string(v) << " (" << n
                                << " so far)";
      return;
    }
  }
  ++counters_.adverts_received;
  if (!addresses_match(r.advert(), vip_addresses())) {
    if (counters_.address_list_mismatch++ == 0)
      HD_LOG(warning, "vrrp") << cfg_.name << ": advert from " << p.meta.source
                              << " lists other virtual addresses than ours (misconfiguration?)";
  }
  feed(AdvertReceived{r.advert(), p.meta.source});
}

void Instance::on_link(const std::string& ifname, bool up) {
  if (!tracks(ifname)) return;
  auto it = std::find(down_.begin(), down_.end(), ifname);
  if (!up && it == down_.end()) {
    down_.push_back(ifname);
  } else if (up && it != down_.end()) {
    down_.erase(it);
  }
  update_fault();
}

void Instance::on_address_removed(int ifindex, const IpAddress& a) {
  if (!vips_held_ || fsm_.state() != State::master) return;
  for (auto* list : {&cfg_.vips, &cfg_.excluded_vips}) {
    for (auto& v : *list) {
      if (v.ifindex == ifindex && v.address == a) {
        ++counters_.vips_restored;
        HD_LOG(warning, "vrrp") << cfg_.name << ": VIP " << a << " was removed from "
                                << cfg_.interface << " while MASTER; restoring it";
        ports_.addresses.add(v);
      }
    }
  }
}

void Instance::reassert_vips() {
  if (!vips_held_ || fsm_.state() != State::master) return;
  HD_LOG(info, "vrrp") << cfg_.name << ": link events were lost; re-adding the VIPs";
  for (auto& v : cfg_.vips) ports_.addresses.add(v);
  for (auto& v : cfg_.excluded_vips) ports_.addresses.add(v);
}

void Instance::on_address_result(const rtnl::AddressResult& r) {
  if (r.op == rtnl::AddrOp::add && adds_pending_.erase(r.spec.address) && adds_pending_.empty() &&
      announce_waiting_)
    ready_to_announce();  // (a refused VIP is announced too: the others are there, and it is retried)
  if (r.op != rtnl::AddrOp::add || r.spec.ifindex != cfg_.ifindex) return;
  auto vip = std::find_if(cfg_.vips.begin(), cfg_.vips.end(),
                          [&](const VipSpec& v) { return v.address == r.spec.address; });
  if (vip == cfg_.vips.end()) return;
  if (r.err == 0) {
    if (refused_.erase(r.spec.address)) {
      HD_LOG(info, "vrrp") << cfg_.name << ": VIP " << r.spec.str() << " added after "
                           << "the kernel had refused it";
      if (refused_.empty()) vip_retry_timer_.stop();
    }
    return;
  }
  if (!vips_held_) return;  // an answer to a request made before we left MASTER
  ++counters_.vip_add_refused;
  std::string why = "kernel refused VIP " + r.spec.str() + ": " + std::strerror(r.err);
  HD_LOG(warning, "vrrp") << cfg_.name << ": " << why << "; retrying";
  if (refused_.empty()) {
    refused_since_ = clock_.now();
    retry_delay_ = Millis(100);
  }
  refused_[r.spec.address] = why;
  if (!vip_retry_timer_.active()) vip_retry_timer_.start(retry_delay_);
}

void Instance::retry_vips() {
  if (!vips_held_ || refused_.empty()) return;
  if (clock_.now() - refused_since_ >= cfg_.vip_fault_after) {
    vip_fault_ = refused_.begin()->second + " for " +
                 std::to_string(std::chrono::duration_cast<Millis>(cfg_.vip_fault_after).count()) +
                 " ms";
    ++counters_.vip_faults;
    HD_LOG(error, "vrrp") << cfg_.name << ": " << vip_fault_ << ": going to FAULT so the peer "
                          << "takes over; rejoining in "
                          << std::chrono::duration_cast<Millis>(cfg_.vip_fault_hold).count() << " ms";
    vip_fault_timer_.start(cfg_.vip_fault_hold);
    update_fault();
    return;
  }
  for (auto& v : cfg_.vips)
    if (refused_.count(v.address)) {
      ++counters_.vip_add_retries;
      ports_.addresses.add(v);
    }
  retry_delay_ = std::min<Duration>(retry_delay_ * 2, std::chrono::seconds(1));
  if (!refused_.empty() && !vip_retry_timer_.active()) vip_retry_timer_.start(retry_delay_);
}

void Instance::set_priority(int priority) {
  feed(PriorityChanged{static_cast<uint8_t>(std::clamp(priority, 1, 255))});
}

void Instance::set_tracking(int priority, const std::string& script_fault) {
  if (priority != tracked_priority_) {
    tracked_priority_ = priority;
    HD_LOG(info, "vrrp") << cfg_.name << ": effective priority " << priority
                         << " (base " << int(cfg_.params.priority) << ", track scripts)";
    set_priority(priority);
  }
  script_fault_ = script_fault;
  update_fault();
}

void Instance::set_hold(bool on, bool failover) {
  if (on != fsm_.held())
    HD_LOG(info, "vrrp") << cfg_.name << ": " << (on ? (failover ? "failover requested" : "held")
                                                     : "released")
                         << " by an operator";
  feed(Hold{on, failover});
}

void Instance::hand_over_for_stop() {
  HD_LOG(info, "vrrp") << cfg_.name << ": stopping: handing over to another router first";
  // A plain hold: with no taker within Master_Down_Interval the VIPs go then (the daemon is
  // stopping anyway), and it never turns back to MASTER.
  feed(Hold{true, false});
}

std::string Instance::own_fault() const {
  if (!down_.empty()) return "tracked interface " + down_.front() + " is down";
  if (!script_fault_.empty()) return script_fault_;
  return vip_fault_;
}

void Instance::set_group_fault(const std::string& reason) {
  if (reason == group_fault_) return;
  group_fault_ = reason;
  update_fault();
}

void Instance::update_fault() {
  std::string own = own_fault();
  if (own != last_own_fault_) {
    last_own_fault_ = own;
    if (on_own_fault_change_) on_own_fault_change_();
  }
  std::string reason = own;
  if (reason.empty()) reason = group_fault_;
  if (!reason.empty() && !faulted_) {
    faulted_ = true;
    feed(FaultOn{reason});
  } else if (reason.empty() && faulted_) {
    faulted_ = false;
    feed(FaultOff{});
  }
}

void Instance::ready_to_announce() {
  announce_waiting_ = false;
  announce_wait_timer_.stop();
  // Only a new Master's first announcement waits for its group: a Master announcing again
  // (answering a lower-priority Master) goes at once.
  if (!announce_gate_ || announced_as_master_) return announce();
  announce_ready_ = true;
  announce_gate_();  // may call release_announce() at once
}

void Instance::release_announce() {
  if (announce_ready_) announce();
}

AnnouncePhase Instance::announce_phase() const {
  if (fsm_.state() != State::master) return AnnouncePhase::idle;
  if (announce_waiting_) return AnnouncePhase::settling;
  return announce_ready_ ? AnnouncePhase::ready : AnnouncePhase::done;
}

void Instance::announce() {
  announced_as_master_ = true;
  announce_waiting_ = announce_ready_ = false;
  announce_wait_timer_.stop();
  ports_.announcer.burst(held_addresses(cfg_), cfg_.garp_count, cfg_.garp_spacing);
  if (cfg_.garp_second_burst > Duration::zero()) garp_second_timer_.start(cfg_.garp_second_burst);
  // An old Master may still hold (and answer ARP for) the VIPs for its linger: announce
  // once more after it, as far as our own setting tells.
  if (cfg_.params.linger > Duration::zero())
    garp_after_linger_timer_.start(cfg_.params.linger + Millis(500));
}

void Instance::stop_announcing() {
  announce_waiting_ = announce_ready_ = announced_as_master_ = false;
  announce_wait_timer_.stop();
  adds_pending_.clear();
  garp_refresh_timer_.stop();
  garp_second_timer_.stop();
  garp_after_linger_timer_.stop();
  ports_.announcer.cancel();
  refused_.clear();
  vip_retry_timer_.stop();
}

void Instance::send_advert(uint8_t priority) {
  Advert a;
  a.version = cfg_.params.version;
  a.vrid = cfg_.params.vrid;
  a.priority = priority;
  auto interval = fsm_.params().advert_interval;
  a.max_advert_int_cs = static_cast<uint16_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(interval).count() / 10);
  a.advert_int_s = static_cast<uint8_t>(
      std::chrono::duration_cast<std::chrono::seconds>(interval).count());
  if (!cfg_.auth_pass.empty()) {
    a.auth_type = 1;
    a.auth_data = make_password(cfg_.auth_pass);
  }
  a.addresses = vip_addresses();
  const IpAddress& src = cfg_.params.primary_ip;
  std::vector<IpAddress> dsts = cfg_.unicast_peers;
  if (dsts.empty()) dsts.push_back(Socket::multicast_group(src.family()));
  for (auto& dst : dsts) {
    auto bytes = encode(a, src, dst);
    if (auth_ && !bytes.empty()) bytes = auth_->outgoing(std::move(bytes), a.version, src, dst, now_us());
    if (bytes.empty()) {
      ++counters_.send_errors;
      continue;
    }
    auto err = ports_.adverts.send(src, dst, bytes);
    if (!err.empty()) {
      if (counters_.send_errors++ % 100 == 0)
        HD_LOG(warning, "vrrp") << cfg_.name << ": advert to " << dst << ": " << err;
    } else {
      ++counters_.adverts_sent;
    }
  }
}

void Instance::execute(const Actions& actions) {
  for (auto& action : actions) {
    std::visit(
        Overloaded{
            [&](const SendAdvert& a) { send_advert(a.priority); },
            [&](const ArmAdvertTimer& a) { advert_timer_.start(a.after); },
            [&](const ArmMasterDownTimer& a) { master_down_timer_.start(a.after); },
            [&](const CancelAdvertTimer&) { advert_timer_.stop(); },
            [&](const CancelMasterDownTimer&) { master_down_timer_.stop(); },
            [&](const AddVips&) {
              vips_held_ = true;  // first: a refusal may be reported while adding
              // Pending before the requests: a manager may answer inside add().
              for (auto* list : {&cfg_.vips, &cfg_.excluded_vips})
                for (auto& v : *list) adds_pending_.insert(v.address);
              for (auto& v : cfg_.vips) ports_.addresses.add(v);
              for (auto& v : cfg_.excluded_vips) ports_.addresses.add(v);
              if (cfg_.garp_refresh > Duration::zero())
                garp_refresh_timer_.start(cfg_.garp_refresh, cfg_.garp_refresh);
            },
            [&](const RemoveVips&) {
              stop_announcing();
              vips_held_ = false;
              if (linger_started_) {
                HD_LOG(info, "vrrp") << cfg_.name << ": linger over after "
                                     << seconds(clock_.now() - *linger_started_)
                                     << " s; releasing the VIPs";
                linger_started_.reset();
              }
              for (auto& v : cfg_.vips) ports_.addresses.remove(v);
              for (auto& v : cfg_.excluded_vips) ports_.addresses.remove(v);
            },
            [&](const KeepVips&) {
              // Still forwarding for the linger, but the new Master is the one announced.
              stop_announcing();
              linger_started_ = clock_.now();
              HD_LOG(info, "vrrp") << cfg_.name << ": keeping the VIPs for up to "
                                   << seconds(cfg_.params.linger)
                                   << " s after the new Master holds them (handover_linger)";
            },
            [&](const ArmLingerTimer& a) { linger_timer_.start(a.after); },
            [&](const CancelLingerTimer&) {
              linger_timer_.stop();
              linger_started_.reset();
            },
            [&](const SendGratuitous&) {
              if (adds_pending_.empty()) {
                ready_to_announce();
              } else if (!announce_waiting_) {
                announce_waiting_ = true;
                announce_wait_timer_.start(kAnnounceWait);
              }
            },
            [&](const IntervalAdopted& a) {
              HD_LOG(info, "vrrp") << cfg_.name << ": master advert interval now "
                                   << seconds(a.to) << " s (was " << seconds(a.from) << " s)";
            },
            [&](const IntervalRefused& r) {
              auto& n = r.reason == IntervalRefusal::too_long ? counters_.interval_too_long
                                                              : counters_.interval_too_short;
              if (n++ % 100 == 0)
                HD_LOG(warning, "vrrp")
                    << cfg_.name << ": not adopting the master's advert interval of "
                    << seconds(r.advertised) << " s (" << to_string(r.reason)
                    << ": more than " << cfg_.params.adopt_interval_ratio << "x from our "
                    << seconds(cfg_.params.advert_interval) << " s)";
            },
            [&](const StateChanged& s) {
              last_transition_wall_ = wall_seconds();
              if (s.to == State::master) ++counters_.became_master;
              HD_LOG(info, "vrrp") << cfg_.name << ": " << s.from << " -> " << s.to << " ("
                                   << s.reason << ")";
              if (s.taken_from)
                HD_LOG(info, "vrrp") << cfg_.name << ": took over from " << s.taken_from->str()
                                     << ", which keeps forwarding for its linger";
              if (on_transition_)
                on_transition_(Transition{cfg_.name, s.from, s.to, s.reason, fsm_.held(),
                                          s.failover_aborted, s.taken_from, false,
                                          clients_held_back(), cfg_.interface});
            },
        },
        action);
  }
  tell_follow();
}

void Instance::tell_follow() {
  std::pair<std::optional<IpAddress>, bool> now{fsm_.followed(), clients_held_back()};
  if (now == told_follow_) return;
  told_follow_ = now;
  if (on_transition_)
    on_transition_(Transition{cfg_.name, fsm_.state(), fsm_.state(), "follow", fsm_.held(), false,
                              now.first, true, now.second, cfg_.interface});
}

InstanceStatus Instance::status() const {
  InstanceStatus s;
  s.name = cfg_.name;
  s.interface = cfg_.interface;
  s.vrid = cfg_.params.vrid;
  s.version = static_cast<int>(cfg_.params.version);
  s.state = fsm_.state();
  s.held = fsm_.held();
  s.lingering = fsm_.lingering();
  s.handing_over = handing_over();
  s.base_priority = cfg_.params.priority;
  s.effective_priority = fsm_.effective_priority();
  s.primary_ip = cfg_.params.primary_ip.str();
  if (auto m = fsm_.master_address()) s.master_ip = m->str();
  s.master_down_interval_s = seconds(fsm_.master_down_interval());
  s.advert_interval_s = seconds(fsm_.master_adver_interval());
  s.last_transition_wall = last_transition_wall_;
  s.last_reason = fsm_.last_transition_reason();
  for (auto& v : cfg_.vips)
    s.vips.push_back(v.address.str() + "/" + std::to_string(v.prefix_len) +
                     (v.label.empty() ? "" : " " + v.label));
  for (auto& v : cfg_.excluded_vips)
    s.excluded_vips.push_back(v.address.str() + "/" + std::to_string(v.prefix_len) +
                              (v.label.empty() ? "" : " " + v.label));
  s.down_interfaces = down_;
  if (!vip_fault_.empty())
    s.vip_problem = vip_fault_;
  else if (!refused_.empty())
    s.vip_problem = refused_.begin()->second;
  s.counters = counters_;
  s.advert_timing = fsm_.advert_timing();
  s.garp_sent = ports_.announcer.sent();
  if (auth_) {
    const AuthConfig& a = auth_->config();
    InstanceStatus::Auth out;
    out.mode = a.mode;
    out.anti_replay = a.anti_replay;
    out.window_s = seconds(a.window);
    out.active_key = a.active_key;
    for (auto& k : a.keys) out.key_ids.push_back(k.id);
    out.counters = auth_->counters();
    s.auth = std::move(out);
  }
  return s;
}

}  // namespace hd::vrrp
