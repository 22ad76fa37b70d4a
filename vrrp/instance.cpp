#include "vrrp/instance.h"

#include <algorithm>

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
}  // namespace

Instance::Instance(Loop& loop, const Clock& clock, InstanceConfig cfg, InstancePorts ports,
                   std::function<void(const Transition&)> on_transition)
    : clock_(clock),
      cfg_(std::move(cfg)),
      ports_(ports),
      on_transition_(std::move(on_transition)),
      fsm_(cfg_.params),
      advert_timer_(loop, [this] { feed(AdvertTimerFired{}); }),
      master_down_timer_(loop, [this] { feed(MasterDownTimerFired{}); }),
      garp_refresh_timer_(loop,
                          [this] { ports_.announcer.burst(vip_addresses(), 1, Duration::zero()); }),
      garp_second_timer_(loop,
                         [this] {
                           ports_.announcer.burst(vip_addresses(), cfg_.garp_count,
                                                  cfg_.garp_spacing);
                         }) {}

Instance::~Instance() = default;

std::vector<IpAddress> Instance::vip_addresses() const {
  std::vector<IpAddress> ips;
  for (auto& v : cfg_.vips) ips.push_back(v.address);
  return ips;
}

void Instance::start() {
  for (auto& ifname : cfg_.track_interfaces)
    if (!ports_.links.is_up(ifname)) down_.push_back(ifname);
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
  return x;
}

void Instance::on_packet(const RxPacket& p) {
  auto r = decode(p.payload, p.meta, expected());
  if (!r) {
    counters_.drops.add(r.reason());
    HD_LOG(debug, "vrrp") << cfg_.name << ": dropped advert from " << p.meta.source << ": "
                          << r.reason();
    return;
  }
  if (!cfg_.unicast_peers.empty() &&
      std::find(cfg_.unicast_peers.begin(), cfg_.unicast_peers.end(), p.meta.source) ==
          cfg_.unicast_peers.end()) {
    ++counters_.unknown_peer;
    HD_LOG(debug, "vrrp") << cfg_.name << ": ignored advert from " << p.meta.source
                          << " (not a unicast peer)";
    return;
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
  if (std::find(cfg_.track_interfaces.begin(), cfg_.track_interfaces.end(), ifname) ==
      cfg_.track_interfaces.end())
    return;
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
  for (auto& v : cfg_.vips) {
    if (v.ifindex == ifindex && v.address == a) {
      ++counters_.vips_restored;
      HD_LOG(warning, "vrrp") << cfg_.name << ": VIP " << a << " was removed from "
                              << cfg_.interface << " while MASTER; restoring it";
      ports_.addresses.add(v);
    }
  }
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

std::string Instance::own_fault() const {
  if (!down_.empty()) return "tracked interface " + down_.front() + " is down";
  return script_fault_;
}

void Instance::set_group_fault(const std::string& reason) {
  if (reason == group_fault_) return;
  group_fault_ = reason;
  update_fault();
}

void Instance::update_fault() {
  std::string reason = own_fault();
  if (reason.empty()) reason = group_fault_;
  if (!reason.empty() && !faulted_) {
    faulted_ = true;
    feed(FaultOn{reason});
  } else if (reason.empty() && faulted_) {
    faulted_ = false;
    feed(FaultOff{});
  }
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
              for (auto& v : cfg_.vips) ports_.addresses.add(v);
              vips_held_ = true;
              if (cfg_.garp_refresh > Duration::zero())
                garp_refresh_timer_.start(cfg_.garp_refresh, cfg_.garp_refresh);
            },
            [&](const RemoveVips&) {
              garp_refresh_timer_.stop();
              garp_second_timer_.stop();
              ports_.announcer.cancel();
              vips_held_ = false;
              for (auto& v : cfg_.vips) ports_.addresses.remove(v);
            },
            [&](const SendGratuitous&) {
              ports_.announcer.burst(vip_addresses(), cfg_.garp_count, cfg_.garp_spacing);
              if (cfg_.garp_second_burst > Duration::zero())
                garp_second_timer_.start(cfg_.garp_second_burst);
            },
            [&](const StateChanged& s) {
              last_transition_wall_ = wall_seconds();
              if (s.to == State::master) ++counters_.became_master;
              HD_LOG(info, "vrrp") << cfg_.name << ": " << s.from << " -> " << s.to << " ("
                                   << s.reason << ")";
              if (on_transition_) on_transition_(Transition{cfg_.name, s.from, s.to, s.reason});
            },
        },
        action);
  }
}

InstanceStatus Instance::status() const {
  InstanceStatus s;
  s.name = cfg_.name;
  s.interface = cfg_.interface;
  s.vrid = cfg_.params.vrid;
  s.version = static_cast<int>(cfg_.params.version);
  s.state = fsm_.state();
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
  s.down_interfaces = down_;
  s.counters = counters_;
  s.garp_sent = ports_.announcer.sent();
  return s;
}

}  // namespace hd::vrrp
