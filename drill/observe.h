// SPDX-License-Identifier: GPL-2.0-or-later
// What the drill watches while it breaks the lab: the client's requests (one
// event per outcome, read from `hadirector-drill client`) and the two
// directors' VRRP states (sampled over their control sockets). Both are
// recorded with drill/clock.h times and queried by time window afterwards.
#pragma once
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "drill/proc.h"

namespace hd::drill {

struct Event {
  char kind = 'R';  // 'R' request on a new connection, 'L' long-lived connection sample
  double t0 = 0, t1 = 0;
  bool ok = false;
  int conn = 0;  // long-lived connection slot
  std::string server, reason;
  double at() const { return kind == 'R' ? t0 : t1; }
};

// Parses one line of the client's output; false for anything else.
bool parse_event(const std::string& line, Event& e);

class Traffic {
 public:
  ~Traffic() { stop(); }
  // Runs the client (argv) and records its events until stop().
  void start(const std::vector<std::string>& argv);
  void stop();
  std::vector<Event> between(double a, double b);

 private:
  void read_loop();
  Child child_;
  std::thread reader_;
  std::mutex mu_;
  std::vector<Event> events_;
};

// One read of a director's status: `instance`'s state ("MASTER", "BACKUP", "FAULT", ...,
// "down" with no answer, "none" with no such instance), and whether any of its instances
// still holds VIPs after a handover (handover_linger).
struct VrrpView {
  std::string state;
  bool lingering = false;
};
VrrpView vrrp_view(const std::string& control_socket, const std::string& instance = "VI_1");
std::string vrrp_state(const std::string& control_socket, const std::string& instance = "VI_1");

struct Sample {
  double t;
  std::string a, b;  // each director's state
};

class Sampler {
 public:
  ~Sampler() { stop(); }
  void start(std::string sock_a, std::string sock_b);
  void stop();
  std::vector<Sample> between(double a, double b);

 private:
  std::atomic<bool> stop_{false};
  std::thread th_;
  std::mutex mu_;
  std::vector<Sample> samples_;
};

}  // namespace hd::drill
