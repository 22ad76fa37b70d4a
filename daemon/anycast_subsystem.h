// SPDX-License-Identifier: GPL-2.0-or-later
// Anycast announcements (announce = "bgp"; docs/anycast.md). hadirector owns only the
// decision; BGP is the routing daemon's (BIRD or FRR) beside it. Each address of an
// announce = "bgp" virtual server lives on the anycast device (a TUN interface this process
// holds: it vanishes with the process, SIGKILL included), local so that the data plane takes
// its packets; while the director may attract traffic for it, a host route on that device
// in [anycast] table (proto 250) says so, and the routing daemon exports exactly those.
//
// An address is announced while every virtual server on it is serving here (LvsSubsystem::
// serving: evaluated since start, quorum, programmed as desired) and no operator has
// withdrawn it; never before the first evaluation after a start. On stop: every route
// withdrawn first, the addresses (and forwarding) kept for withdraw_linger, then the device
// closed. Only this subsystem writes the device, its addresses and the table's routes.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/clock.h"
#include "daemon/lvs_subsystem.h"
#include "daemon/subsystem.h"
#include "rtnl/route.h"

namespace hd {

namespace anycast {

// Why an address is or is not announced, first reason first.
struct Verdict {
  bool announce = false;
  std::string why;  // "serving", "stopping", "withdrawn by the operator", "not evaluated
                    // yet", "tcp 192.0.2.1:80 has no quorum", "... differs in the kernel"
};
// The pure rule. `services`: the address's virtual servers (config key, serving state).
Verdict decide(const std::vector<std::pair<std::string, LvsSubsystem::Serving>>& services,
               bool withdrawn_by_operator, bool stopping);

// The device, its addresses and its routes: production writes the kernel (a TunDevice and
// rtnetlink requests), tests record.
class Kernel {
 public:
  virtual ~Kernel() = default;
  // Creates the device; "" on success, else why not. Its ifindex then.
  virtual std::string open(const std::string& interface) = 0;
  virtual void close() = 0;  // the device goes, with its addresses and routes
  virtual void add_address(const IpAddress& a) = 0;
  virtual void remove_address(const IpAddress& a) = 0;
  // `done` gets 0 or the kernel's errno, later, from the loop (never after the Kernel is gone).
  virtual void add_route(const IpAddress& a, uint32_t table, std::function<void(int err)> done) = 0;
  virtual void remove_route(const IpAddress& a, uint32_t table) = 0;
};
std::unique_ptr<Kernel> netlink_kernel(Loop& loop);

}  // namespace anycast

class AnycastSubsystem final : public Subsystem {
 public:
  using ServingFn = std::function<LvsSubsystem::Serving(const std::string& vs_key)>;
  AnycastSubsystem(Loop& loop, ServingFn serving, std::unique_ptr<anycast::Kernel> kernel,
                   const Clock& clock);
  ~AnycastSubsystem() override;
  std::string_view name() const override { return "anycast"; }
  std::string start(const config::Config& cfg) override;
  std::string reload(const config::Config& old_cfg, const config::Config& new_cfg) override;
  void begin_stop() override;
  bool handing_over() const override;
  void stop() override;
  void status(JsonWriter& w) const override;
  void status_text(std::string& out) const override;
  void metrics(metrics::Writer& w) const override;
  void set_events(EventBus& e) override { events_ = &e; }
  // The operator's withdrawals (hadirector ctl withdraw / announce), kept in the overrides.
  void set_overrides(Overrides& o) override;

  // The virtual servers' serving states may have changed: evaluate() now, or
  // evaluate_soon() on the next loop turn (LvsSubsystem's listener: a reload's whole
  // change is seen at once, not an address withdrawn half-way through it).
  void evaluate();
  void evaluate_soon();

 private:
  struct Vip {
    std::vector<std::string> services;  // config keys of its virtual servers
    bool announced = false;             // the route as last written
    std::string why;
    std::string refused;  // the kernel refused the route: why (retried next evaluation)
    uint64_t request = 0;  // +1 per route added: an answer to an older one is ignored
  };
  void on_route_added(const IpAddress& a, uint64_t gen, uint64_t request, int err);
  static std::map<IpAddress, Vip> vips_of(const config::Config& cfg);
  void withdraw_all();

  ServingFn serving_;
  std::unique_ptr<anycast::Kernel> kernel_;
  const Clock& clock_;
  EventBus* events_ = nullptr;
  config::Anycast cfg_;
  std::map<IpAddress, Vip> vips_;
  std::set<std::string> withdrawn_;  // by the operator (IpAddress::str())
  bool open_ = false;
  bool stopping_ = false;
  TimePoint linger_end_{};
  uint64_t announcements_ = 0, withdrawals_ = 0, refusals_ = 0;
  uint64_t gen_ = 0;  // +1 per start: answers to an earlier device's requests are dropped
  std::unique_ptr<Timer> soon_;
};

}  // namespace hd
