// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/anycast_subsystem.h"

#include <cstring>

#include "core/log.h"
#include "daemon/events.h"
#include "daemon/overrides.h"
#include "rtnl/address.h"
#include "rtnl/tun_device.h"

namespace hd {
namespace anycast {

Verdict decide(const std::vector<std::pair<std::string, LvsSubsystem::Serving>>& services,
               bool withdrawn_by_operator, bool stopping) {
  if (stopping) return {false, "stopping"};
  if (withdrawn_by_operator) return {false, "withdrawn by the operator"};
  for (auto& [key, s] : services) {
    if (!s.evaluated) return {false, "not evaluated yet"};
    if (!s.quorum) return {false, key + " has no quorum"};
    if (!s.in_sync) return {false, key + " is not programmed as desired yet"};
  }
  if (services.empty()) return {false, "no virtual server"};
  return {true, "serving"};
}

namespace {

class NetlinkKernel final : public Kernel {
 public:
  explicit NetlinkKernel(Loop& loop) : loop_(loop) {}
  std::string open(const std::string& interface) override {
    std::string error;
    if (!rtnl_) rtnl_ = rtnl::NetlinkAddressManager::create(loop_, error, "anycast");
    if (!rtnl_) return error;
    device_ = rtnl::TunDevice::open(interface, error);
    return device_ ? "" : error;
  }
  void close() override { device_.reset(); }
  void add_address(const IpAddress& a) override { rtnl_->add(spec(a)); }
  void remove_address(const IpAddress& a) override { rtnl_->remove(spec(a)); }
  void add_route(const IpAddress& a, uint32_t table, std::function<void(int)> done) override {
    route(rtnl::RouteOp::add, a, table, std::move(done));
  }
  void remove_route(const IpAddress& a, uint32_t table) override {
    route(rtnl::RouteOp::remove, a, table, [](int) {});
  }

 private:
  rtnl::AddressSpec spec(const IpAddress& a) const {
    return rtnl::AddressSpec{a, static_cast<uint8_t>(a.is_v4() ? 32 : 128), "", ifindex()};
  }
  int ifindex() const { return device_ ? device_->ifindex() : 0; }
  void route(rtnl::RouteOp op, const IpAddress& a, uint32_t table, std::function<void(int)> done) {
    if (!device_) return;
    rtnl::RouteSpec r{a, ifindex(), table};
    std::string what = (op == rtnl::RouteOp::add ? "announce " : "withdraw ") + r.str();
    rtnl_->request(rtnl::build_route_request(op, r), what, std::move(done));
  }
  Loop& loop_;
  std::unique_ptr<rtnl::NetlinkAddressManager> rtnl_;
  std::unique_ptr<rtnl::TunDevice> device_;
};

}  // namespace

std::unique_ptr<Kernel> netlink_kernel(Loop& loop) { return std::make_unique<NetlinkKernel>(loop); }

}  // namespace anycast

AnycastSubsystem::AnycastSubsystem(Loop& loop, ServingFn serving,
                                   std::unique_ptr<anycast::Kernel> kernel, const Clock& clock)
    : serving_(std::move(serving)),
      kernel_(std::move(kernel)),
      clock_(clock),
      soon_(std::make_unique<Timer>(loop, [this] { evaluate(); })) {}

// Only the device: what it announced goes with it. Nothing else is asked (LVS may be gone).
AnycastSubsystem::~AnycastSubsystem() {
  if (open_) kernel_->close();
}

void AnycastSubsystem::evaluate_soon() {
  if (open_ && !soon_->active()) soon_->start(Duration::zero());
}

std::map<IpAddress, AnycastSubsystem::Vip> AnycastSubsystem::vips_of(const config::Config& cfg) {
  std::map<IpAddress, Vip> out;
  for (auto& vs : cfg.virtual_servers)
    if (vs.announce == config::Announce::bgp && vs.address)
      out[*vs.address].services.push_back(vs.key());
  return out;
}

std::string AnycastSubsystem::start(const config::Config& cfg) {
  stopping_ = false;
  ++gen_;
  cfg_ = cfg.anycast;
  vips_ = vips_of(cfg);
  if (vips_.empty()) return "";  // no device unless something is announced this way
  if (auto err = kernel_->open(cfg_.interface); !err.empty()) {
    vips_.clear();
    return "anycast: " + err;
  }
  open_ = true;
  for (auto& [a, v] : vips_) {
    kernel_->add_address(a);
    v.why = "not evaluated yet";
  }
  HD_LOG(info, "anycast") << vips_.size() << " address(es) on " << cfg_.interface
                          << ", announced through table " << cfg_.table << " once serving";
  evaluate();
  return "";
}

std::string AnycastSubsystem::reload(const config::Config& old_cfg, const config::Config& new_cfg) {
  (void)old_cfg;
  auto next = vips_of(new_cfg);
  cfg_.withdraw_linger = new_cfg.anycast.withdraw_linger;  // takes effect at the next stop
  if (new_cfg.anycast.interface != cfg_.interface || new_cfg.anycast.table != cfg_.table ||
      next.empty() || !open_) {
    // The device or the table changed (or the device comes or goes): withdraw and start over.
    stop();
    return start(new_cfg);
  }
  for (auto& [a, v] : vips_)
    if (!next.count(a)) {
      if (v.announced) {
        kernel_->remove_route(a, cfg_.table);
        ++withdrawals_;
      }
      kernel_->remove_address(a);
    }
  for (auto& [a, v] : next) {
    auto it = vips_.find(a);
    if (it == vips_.end()) {
      kernel_->add_address(a);
      v.why = "not evaluated yet";
    } else {
      v.announced = it->second.announced;
      v.why = it->second.why;
      v.refused = it->second.refused;
    }
  }
  vips_ = std::move(next);
  evaluate();
  return "";
}

void AnycastSubsystem::evaluate() {
  if (!open_) return;
  soon_->stop();
  for (auto& entry : vips_) {
    const IpAddress& a = entry.first;  // not a structured binding: lambdas below capture it
    Vip& v = entry.second;
    // Stopping asks nothing of the virtual servers (their subsystem may be stopping too).
    std::vector<std::pair<std::string, LvsSubsystem::Serving>> services;
    if (!stopping_)
      for (auto& key : v.services) services.emplace_back(key, serving_(key));
    auto verdict = anycast::decide(services, withdrawn_.count(a.str()) > 0, stopping_);
    if (!verdict.announce || !v.announced) v.refused.clear();  // withdrawn, or asked again
    if (verdict.announce != v.announced) {
      if (verdict.announce) {
        IpAddress addr = a;
        uint64_t gen = gen_, request = ++v.request;
        v.announced = true;  // before the request: a refusal may be answered at once
        kernel_->add_route(a, cfg_.table, [this, addr, gen, request](int err) {
          on_route_added(addr, gen, request, err);
        });
        ++announcements_;
        if (!v.announced) {  // refused at once (on_route_added said so)
          v.why = v.refused;
          continue;
        }
      } else {
        kernel_->remove_route(a, cfg_.table);
        ++withdrawals_;
        v.announced = false;
      }
      HD_LOG(info, "anycast") << (verdict.announce ? "announcing " : "withdrawing ") << a.str()
                              << " (" << verdict.why << ")";
      if (events_)
        events_->publish("anycast", [&](JsonWriter& e) {
          e.field("address", a.str()).field("announced", verdict.announce).field("why", verdict.why);
        });
    }
    v.why = v.refused.empty() ? std::move(verdict.why) : v.refused;
  }
}

void AnycastSubsystem::on_route_added(const IpAddress& a, uint64_t gen, uint64_t request,
                                      int err) {
  auto it = vips_.find(a);
  if (err == 0 || gen != gen_ || it == vips_.end() || !it->second.announced ||
      it->second.request != request)
    return;
  // Not announced after all: said everywhere the announcement was, and asked again at the
  // next evaluation (the next health change or reconcile, every reconcile_interval).
  ++refusals_;
  it->second.announced = false;
  it->second.refused = std::string("the kernel refused the route: ") + std::strerror(err);
  it->second.why = it->second.refused;
  HD_LOG(error, "anycast") << a.str() << " not announced: " << it->second.refused;
  if (events_)
    events_->publish("anycast", [&](JsonWriter& e) {
      e.field("address", a.str()).field("announced", false).field("why", it->second.refused);
    });
}

void AnycastSubsystem::set_overrides(Overrides& o) {
  withdrawn_.clear();
  for (auto& [address, w] : o.withdrawals()) withdrawn_.insert(address);
  evaluate();
}

void AnycastSubsystem::begin_stop() {
  if (!open_ || stopping_) return;
  stopping_ = true;
  bool any = false;
  for (auto& [a, v] : vips_) any = any || v.announced;
  // Linger only where traffic may still arrive: something was announced.
  linger_end_ = clock_.now() + (any ? cfg_.withdraw_linger : Duration::zero());
  evaluate();  // every route goes; the addresses stay: what still arrives is served
  if (any)
    HD_LOG(info, "anycast") << "withdrawn; serving what still arrives for "
                            << std::chrono::duration<double>(cfg_.withdraw_linger).count() << " s";
}

bool AnycastSubsystem::handing_over() const { return open_ && stopping_ && clock_.now() < linger_end_; }

void AnycastSubsystem::stop() {
  if (!open_) return;
  stopping_ = true;
  evaluate();
  kernel_->close();  // the addresses and any route go with the device
  open_ = false;
  vips_.clear();
}

void AnycastSubsystem::status(JsonWriter& w) const {
  w.key("anycast");
  if (vips_.empty()) {
    w.null();  // idle: no announce = "bgp" address
    return;
  }
  w.begin_object();
  w.field("interface", cfg_.interface).field("table", int64_t{cfg_.table}).field("open", open_);
  w.field("announcements", announcements_).field("withdrawals", withdrawals_);
  w.field("refused", refusals_);
  w.key("addresses").begin_array();
  for (auto& [a, v] : vips_) {
    w.begin_object().field("address", a.str()).field("announced", v.announced).field("why", v.why);
    w.field("withdrawn_by_operator", withdrawn_.count(a.str()) > 0);
    w.key("virtual_servers").begin_array();
    for (auto& k : v.services) w.value(k);
    w.end_array().end_object();
  }
  w.end_array().end_object();
}

void AnycastSubsystem::status_text(std::string& out) const {
  if (vips_.empty()) return;
  for (auto& [a, v] : vips_)
    out += "anycast " + a.str() + ": " + (v.announced ? "announced" : "not announced") + " (" +
           v.why + ")\n";
}

void AnycastSubsystem::metrics(metrics::Writer& w) const {
  if (vips_.empty()) return;
  w.gauge("hadirector_anycast_announced",
          "1 while this director announces the address (announce = \"bgp\"), else 0");
  for (auto& [a, v] : vips_) {
    std::string addr = a.str();
    w.sample({{"address", addr}}, v.announced ? 1 : 0);
  }
  w.counter("hadirector_anycast_changes_total", "Announcements and withdrawals written");
  w.sample({{"change", "announce"}}, static_cast<double>(announcements_));
  w.sample({{"change", "withdraw"}}, static_cast<double>(withdrawals_));
  w.sample({{"change", "refused"}}, static_cast<double>(refusals_));
}

}  // namespace hd
