// SPDX-License-Identifier: GPL-2.0-or-later
// Fakes for the VRRP runtime's ports: where adverts go, the announcer, link
// state, channels the engine reads, and a whole EngineKernel. They record
// what the code under test did, so tests assert on behaviour, not on logs.
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <thread>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rtnl/fake_address_manager.h"
#include "vrrp/engine.h"
#include "vrrp/instance.h"
#include "vrrp/packet.h"

namespace hd::vrrp::testing {

struct SentAdvert {
  IpAddress src, dst;
  Advert advert;
  std::vector<uint8_t> payload;  // as sent (with an authentication trailer, if any)
};

// Decodes what it is given as a peer on the link would (TTL 255).
inline Advert decode_sent(std::span<const uint8_t> payload, const IpAddress& src,
                          const IpAddress& dst, Version v) {
  ExpectedParams x;
  x.version = v;
  x.family = src.family();
  x.vrid = payload.size() > 1 ? payload[1] : 0;
  x.advert_int_s = v == Version::v2 && payload.size() > 5 ? payload[5] : 1;
  x.trailer_size = kAuthTrailerSize;  // a signed advert decodes too (vrrp/auth.h)
  auto r = decode(payload, RxMeta{src, dst, 255}, x);
  return r ? r.advert() : Advert{};
}

class RecordingSender final : public AdvertSender {
 public:
  explicit RecordingSender(Version v = Version::v3) : version_(v) {}
  std::string send(const IpAddress& src, const IpAddress& dst,
                   std::span<const uint8_t> payload) override {
    while (stall.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard l(mu);
    if (!fail_with.empty()) return fail_with;
    sent.push_back({src, dst, decode_sent(payload, src, dst, version_),
                    std::vector<uint8_t>(payload.begin(), payload.end())});
    return "";
  }
  std::vector<SentAdvert> snapshot() {
    std::lock_guard l(mu);
    return sent;
  }
  std::mutex mu;
  std::vector<SentAdvert> sent;
  std::string fail_with;
  std::atomic<bool> stall{false};  // send() waits while set: a stuck VRRP thread

 private:
  Version version_;
};

class FakeAnnouncer final : public Announcements {
 public:
  void burst(const std::vector<IpAddress>& vips, int count, Duration) override {
    if (on_burst) on_burst();
    ++bursts;
    last = vips;
    sent_ += vips.size() * static_cast<size_t>(count);
  }
  void cancel() override { ++cancels; }
  uint64_t sent() const override { return sent_; }
  int bursts = 0, cancels = 0;
  std::vector<IpAddress> last;
  std::function<void()> on_burst;

 private:
  uint64_t sent_ = 0;
};

class FakeLinks final : public rtnl::LinkState {
 public:
  bool is_up(const std::string& ifname) const override { return !down.count(ifname); }
  std::set<std::string> down;
};

// A channel whose fd is a pipe: deliver() queues a packet and makes it readable.
class FakeChannel final : public Channel {
 public:
  FakeChannel(Family f, std::string ifname, RecordingSender& out)
      : family_(f), ifname_(std::move(ifname)), out_(out) {
    if (pipe2(p_, O_NONBLOCK | O_CLOEXEC) != 0) p_[0] = p_[1] = -1;
  }
  ~FakeChannel() override {
    ::close(p_[0]);
    ::close(p_[1]);
  }
  std::string send(const IpAddress& src, const IpAddress& dst,
                   std::span<const uint8_t> payload) override {
    return out_.send(src, dst, payload);
  }
  int fd() const override { return p_[0]; }
  Family family() const override { return family_; }
  const std::string& ifname() const override { return ifname_; }
  std::optional<RxPacket> receive() override {
    char c;
    if (::read(p_[0], &c, 1) != 1) return std::nullopt;
    std::lock_guard l(mu_);
    if (q_.empty()) return std::nullopt;
    auto p = std::move(q_.front());
    q_.pop_front();
    return p;
  }
  uint64_t malformed() const override { return 0; }
  void deliver(RxPacket p) {
    {
      std::lock_guard l(mu_);
      q_.push_back(std::move(p));
    }
    [[maybe_unused]] auto n = ::write(p_[1], "x", 1);
  }

 private:
  Family family_;
  std::string ifname_;
  RecordingSender& out_;
  int p_[2];
  std::mutex mu_;
  std::deque<RxPacket> q_;
};

// A peer Master on `ch`: `round` (its adverts, and any others a test wants alongside)
// delivered every 10 ms on a thread of its own, until destroyed.
class PeerMaster {
 public:
  PeerMaster(FakeChannel& ch, std::vector<RxPacket> round)
      : thread_([this, &ch, round = std::move(round)] {
          while (!stop_) {
            for (auto& p : round) ch.deliver(p);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
        }) {}
  ~PeerMaster() {
    stop_ = true;
    thread_.join();
  }
  PeerMaster(const PeerMaster&) = delete;
  PeerMaster& operator=(const PeerMaster&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// An advert from a peer, as the instance's socket would hand it over.
inline RxPacket advert_from(const IpAddress& src, uint8_t vrid, uint8_t priority,
                            std::vector<IpAddress> vips, Duration interval,
                            Version v = Version::v3) {
  Advert a;
  a.version = v;
  a.vrid = vrid;
  a.priority = priority;
  a.max_advert_int_cs = static_cast<uint16_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(interval).count() / 10);
  a.addresses = std::move(vips);
  IpAddress group = *IpAddress::parse(src.is_v4() ? "224.0.0.18" : "ff02::12");
  RxPacket p;
  p.meta = RxMeta{src, group, 255};
  p.payload = encode(a, src, group);
  return p;
}

// The kernel as the engine sees it: interfaces that exist (with a primary address), sockets
// that open or refuse, addresses kept by a FakeAddressManager. Every call happens on the
// engine's thread while the test waits in start()/reload(), or under the engine's own
// synchronisation; tests read the state after those calls return.
class FakeKernel final : public EngineKernel {
 public:
  std::string resolve(InstanceConfig& cfg) override {
    std::lock_guard l(mu);
    auto it = interfaces.find(cfg.interface);
    if (it == interfaces.end()) return "interface " + cfg.interface + " does not exist";
    cfg.ifindex = it->second.first;
    for (auto& v : cfg.vips) v.ifindex = cfg.ifindex;
    cfg.params.primary_ip = cfg.unicast_source ? *cfg.unicast_source : it->second.second;
    return "";
  }
  std::unique_ptr<Channel> open_channel(Family f, const std::string& ifname, int,
                                        std::string& error) override {
    ++opens;
    if (refuse_sockets.count(ifname)) {
      error = "socket on " + ifname + ": Operation not permitted";
      return nullptr;
    }
    auto c = std::make_unique<FakeChannel>(f, ifname, sender);
    channels[ifname] = c.get();
    return c;
  }
  std::unique_ptr<rtnl::AddressManager> address_manager(Loop&, std::string&) override {
    return std::make_unique<Forward>(*this);
  }
  bool has_address(const IpAddress& a) {
    std::lock_guard l(mu);
    return addresses.has(a);
  }
  void refuse(const IpAddress& a, bool on) {
    std::lock_guard l(mu);
    if (on)
      addresses.refused_addresses.insert(a);
    else
      addresses.refused_addresses.erase(a);
  }
  size_t address_requests(rtnl::AddrOp op) {
    std::lock_guard l(mu);
    return addresses.count(op);
  }
  std::unique_ptr<rtnl::LinkEvents> watch_links(Loop& loop, rtnl::LinkCallbacks cb,
                                                std::string&) override {
    callbacks = std::move(cb);
    return std::make_unique<Events>(loop, *this);
  }
  // A link event delivered on the engine's thread, as the link monitor delivers them.
  void link_event(int ifindex, const std::string& ifname, bool up) {
    std::lock_guard l(mu);
    if (events_) events_->box.post([this, ifindex, ifname, up] { callbacks.link(ifindex, ifname, up); });
  }
  // Runs f on the engine's thread (to stall it, say).
  void on_engine_thread(std::function<void()> f) {
    std::lock_guard l(mu);
    if (events_) events_->box.post(std::move(f));
  }
  // The kernel's view changes (under the lock the engine's resolve() takes).
  void set_interface(const std::string& ifname, std::optional<std::pair<int, IpAddress>> v) {
    std::lock_guard l(mu);
    if (v)
      interfaces[ifname] = *v;
    else
      interfaces.erase(ifname);
  }
  std::unique_ptr<Announcements> announcer(Loop&, const std::string& ifname, int) override {
    auto a = std::make_unique<FakeAnnouncer>();
    a->on_burst = [this, ifname] {
      std::lock_guard l(mu);
      announced.push_back(ifname);
    };
    return a;
  }
  std::vector<std::string> announced_so_far() {
    std::lock_guard l(mu);
    return announced;
  }
  const rtnl::LinkState& links() const override { return link_state; }

  std::mutex mu;  // the engine's thread changes addresses while a test reads them
  std::map<std::string, std::pair<int, IpAddress>> interfaces;  // name -> ifindex, primary
  std::set<std::string> refuse_sockets;
  std::vector<std::string> announced;  // the interface of each gratuitous ARP burst, in order
  std::map<std::string, FakeChannel*> channels;  // last opened per interface
  int opens = 0;
  RecordingSender sender;
  rtnl::FakeAddressManager addresses;
  FakeLinks link_state;
  rtnl::LinkCallbacks callbacks;

 private:
  struct Events final : rtnl::LinkEvents {
    Events(Loop& loop, FakeKernel& k) : box(loop, [](std::function<void()>&& f) { f(); }), k_(k) {
      std::lock_guard l(k_.mu);
      k_.events_ = this;
    }
    ~Events() override {
      std::lock_guard l(k_.mu);
      k_.events_ = nullptr;
    }
    Mailbox<std::function<void()>> box;
    FakeKernel& k_;
  };
  Events* events_ = nullptr;
  // The engine owns its address manager; this one forwards to the kernel's, which outlives it.
  struct Forward final : rtnl::AddressManager {
    explicit Forward(FakeKernel& k) : k_(k) {}
    void add(const rtnl::AddressSpec& a) override {
      bool ok;
      {
        std::lock_guard l(k_.mu);
        k_.addresses.add(a);
        ok = k_.addresses.has(a.address);
      }
      report({rtnl::AddrOp::add, a, ok ? 0 : k_.addresses.refuse_with});
    }
    void remove(const rtnl::AddressSpec& a) override {
      {
        std::lock_guard l(k_.mu);
        k_.addresses.remove(a);
      }
      report({rtnl::AddrOp::remove, a, 0});
    }
    FakeKernel& k_;
  };
};

}  // namespace hd::vrrp::testing
