// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/observe.h"

#include <signal.h>
#include <unistd.h>

#include <sstream>

#include "daemon/control/server.h"
#include "drill/clock.h"

namespace hd::drill {

bool parse_event(const std::string& line, Event& e) {
  std::istringstream is(line);
  std::string kind, okw, status;
  is >> kind;
  if (kind == "R") {
    e.kind = 'R';
    is >> e.t0 >> e.t1 >> okw >> status >> e.server;
  } else if (kind == "L") {
    e.kind = 'L';
    is >> e.conn >> e.t1 >> okw >> e.server;
    e.t0 = e.t1;
  } else {
    return false;
  }
  if (!is) return false;
  std::getline(is, e.reason);
  if (!e.reason.empty() && e.reason.front() == ' ') e.reason.erase(0, 1);
  if (e.server == "-") e.server.clear();
  e.ok = okw == "ok";
  return true;
}

void Traffic::start(const std::vector<std::string>& argv) {
  child_ = spawn_piped(argv);
  reader_ = std::thread([this] { read_loop(); });
}

void Traffic::stop() {
  if (child_.pid > 0) drill::stop(child_.pid, SIGTERM, 1000);
  child_.pid = -1;
  if (reader_.joinable()) reader_.join();
  if (child_.out_fd >= 0) ::close(child_.out_fd);
  child_.out_fd = -1;
}

std::vector<Event> Traffic::between(double a, double b) {
  std::lock_guard l(mu_);
  std::vector<Event> out;
  for (auto& e : events_)
    if (e.at() >= a && e.at() < b) out.push_back(e);
  return out;
}

void Traffic::read_loop() {
  std::string buf;
  char tmp[4096];
  ssize_t n;
  while ((n = ::read(child_.out_fd, tmp, sizeof tmp)) > 0) {
    buf.append(tmp, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      Event e;
      if (parse_event(buf.substr(0, nl), e)) {
        std::lock_guard l(mu_);
        events_.push_back(std::move(e));
      }
      buf.erase(0, nl + 1);
    }
  }
}

VrrpView vrrp_view(const std::string& sock, const std::string& instance) {
  std::string reply, err;
  // A frozen director (SIGSTOP) does not answer: "down" after half a second.
  if (!control::request(sock, "status", reply, err, std::chrono::milliseconds(500))) return {"down"};
  VrrpView v;
  v.lingering = reply.find("  lingering: ") != std::string::npos;
  std::string key = "vrrp " + instance + " ";
  auto p = reply.find(key);
  if (p == std::string::npos) {
    v.state = "none";
    return v;
  }
  std::istringstream is(reply.substr(p + key.size()));
  is >> v.state;
  return v;
}

std::string vrrp_state(const std::string& sock, const std::string& instance) {
  return vrrp_view(sock, instance).state;
}

void Sampler::start(std::string sock_a, std::string sock_b) {
  stop_ = false;
  th_ = std::thread([this, sock_a, sock_b] {
    while (!stop_) {
      Sample s{now(), vrrp_state(sock_a), vrrp_state(sock_b)};
      {
        std::lock_guard l(mu_);
        samples_.push_back(s);
      }
      sleep_s(0.05);
    }
  });
}

void Sampler::stop() {
  stop_ = true;
  if (th_.joinable()) th_.join();
}

std::vector<Sample> Sampler::between(double a, double b) {
  std::lock_guard l(mu_);
  std::vector<Sample> out;
  for (auto& s : samples_)
    if (s.t >= a && s.t < b) out.push_back(s);
  return out;
}

}  // namespace hd::drill
