#include "daemon/drill/drill.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <toml++/toml.h>

#include "core/json.h"
#include "daemon/config/loader.h"
#include "daemon/control/server.h"
#include "daemon/drill/lab.h"
#include "daemon/drill/proc.h"

#ifndef HD_SOURCE_DIR
#define HD_SOURCE_DIR ""
#endif

namespace hd::drill {
namespace {

using Clock = std::chrono::steady_clock;
double now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }
void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

std::atomic<bool> g_interrupted{false};

// What the lab's directors run. Defaults suit a fast drill; --config takes them from an
// operator's own hadirector config where they fit the lab.
struct LabParams {
  int version = 3;
  double advert = 0.1;  // seconds
  bool preempt = true;
  double preempt_delay = 0;
  std::string scheduler = "wrr";
  int persistence = 0;
  bool inhibit = false;
  double slow_start = 0;
  std::string check_type = "http";
  std::string check_path = "/";
  double check_interval = 0.3, check_timeout = 0.25;
  int rise = 2, fall = 2;
  std::vector<std::string> notes;  // what --config gave, and what it could not
  // RFC 3768/5798 timers of the Backup (priority 100).
  double skew() const { return version == 2 ? (256 - 100) / 256.0 : (256 - 100) * advert / 256; }
  double mdi() const { return 3 * advert + skew(); }
};

// Per scenario; defaults derive from the timers, a drill config file may override them.
struct Budget {
  double max_outage = 0;         // seconds from the fault to the VIP answering again (0: none)
  int max_failed = -1;           // failed requests allowed (-1: no limit)
  double max_failing_after = 0;  // requests may fail this long after the fault (0: no limit)
  double max_after_heal = 0;     // partition: seconds from the heal to the VIP answering (0: none)
};

struct Options {
  Mode mode = Mode::nat;
  bool mode_given = false;
  std::string user_config;   // --config: an operator's hadirector config
  std::string drill_config;  // --drill-config: traffic and budgets
  std::vector<std::string> scenarios;
  bool json = false;
  bool keep = false;
  bool no_vm = false;
  double rate = 40;
  int longs = 3;
  std::string self;
};

const std::vector<std::string> kAllScenarios = {"master-kill", "master-stop", "link-cut",
                                                "rs-down",     "rs-500",      "reload-weight",
                                                "wrr-share",   "partition"};

struct Event {
  char kind;  // 'R' request, 'L' long-lived sample
  double t0 = 0, t1 = 0;
  bool ok = false;
  int conn = 0;
  std::string server, reason;
};

// Reads drill-client's lines into events.
class Traffic {
 public:
  void start(const Lab& lab, const Options& o, const std::string& self) {
    child_ = spawn_piped(in_ns(lab.ns("client"),
                               {self, "drill-client", "--target", lab.vip() + ":80", "--rate",
                                std::to_string(o.rate), "--long", std::to_string(o.longs),
                                "--timeout-ms", "1000", "--long-interval-ms", "200"}));
    reader_ = std::thread([this] { read_loop(); });
  }
  void stop() {
    if (child_.pid > 0) drill::stop(child_.pid, SIGTERM, 1000);
    child_.pid = -1;
    if (reader_.joinable()) reader_.join();
    if (child_.out_fd >= 0) ::close(child_.out_fd);
    child_.out_fd = -1;
  }
  std::vector<Event> between(double a, double b) {
    std::lock_guard l(mu_);
    std::vector<Event> out;
    for (auto& e : events_)
      if ((e.kind == 'R' ? e.t0 : e.t1) >= a && (e.kind == 'R' ? e.t0 : e.t1) < b) out.push_back(e);
    return out;
  }

 private:
  void read_loop() {
    std::string buf;
    char tmp[4096];
    ssize_t n;
    while ((n = ::read(child_.out_fd, tmp, sizeof tmp)) > 0) {
      buf.append(tmp, n);
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        parse(buf.substr(0, nl));
        buf.erase(0, nl + 1);
      }
    }
  }
  void parse(const std::string& line) {
    std::istringstream is(line);
    Event e;
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
      return;
    }
    std::getline(is, e.reason);
    e.ok = okw == "ok";
    std::lock_guard l(mu_);
    events_.push_back(e);
  }
  Child child_;
  std::thread reader_;
  std::mutex mu_;
  std::vector<Event> events_;
};

struct Sample {
  double t;
  std::string a, b;  // VI_1 state of each director, or "down"
};

std::string vrrp_state(const std::string& sock) {
  std::string reply, err;
  if (!control::request(sock, "status", reply, err)) return "down";
  auto p = reply.find("vrrp VI_1 ");
  if (p == std::string::npos) return "none";
  std::istringstream is(reply.substr(p + 10));
  std::string s;
  is >> s;
  return s;
}

class Sampler {
 public:
  void start(std::string sock_a, std::string sock_b) {
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
  void stop() {
    stop_ = true;
    if (th_.joinable()) th_.join();
  }
  std::vector<Sample> between(double a, double b) {
    std::lock_guard l(mu_);
    std::vector<Sample> out;
    for (auto& s : samples_)
      if (s.t >= a && s.t < b) out.push_back(s);
    return out;
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread th_;
  std::mutex mu_;
  std::vector<Sample> samples_;
};

struct Result {
  std::string name;
  std::string description;
  double outage_s = 0;      // fault -> VIP answering again (0: no failed request)
  double after_heal_s = 0;  // partition: heal -> VIP answering again (0: answering at the heal)
  int requests = 0, failed = 0, slow = 0;
  int long_total = 0, long_broken = 0;
  int max_masters = 0;      // among samples that count (after heal, for partition)
  int samples = 0;
  std::string ipvs_table;
  bool passed = true;
  std::vector<std::string> violations;
  std::map<std::string, int> served_by;  // real server -> ok requests in the window
  double failing_after = 0;  // last failed request's start, seconds after the fault
  Budget budget;
};

std::map<std::string, Budget> default_budgets(const LabParams& p) {
  std::map<std::string, Budget> b;
  // A request in flight when the Master dies waits for the client's 1 s timeout.
  b["master-kill"].max_outage = p.mdi() + 1.5;
  b["master-stop"].max_outage = p.skew() + 1.2;
  b["link-cut"].max_outage = p.mdi() + 1.5;
  b["rs-down"].max_failing_after = p.fall * p.check_interval + p.check_timeout + 1.0;
  b["rs-500"].max_failing_after = p.fall * p.check_interval + p.check_timeout + 1.0;
  b["reload-weight"].max_failed = 0;
  b["wrr-share"].max_failed = 0;
  // The partition lasts 2 s plus however long nft takes to remove it (seconds under emulation):
  // what the directors answer for is the time from the heal to the VIP answering again.
  b["partition"].max_after_heal = 1.5;
  return b;
}

class Drill {
 public:
  Drill(Options o, LabParams p, std::map<std::string, Budget> b)
      : o_(std::move(o)), p_(std::move(p)), budgets_(std::move(b)) {}
  int run();

 private:
  std::string write_config(int i);
  void start_director(int i);
  void stop_director(int i, int sig);
  void start_real(int i);
  void stop_real(int i);
  bool wait_steady(double timeout);
  std::string master_ns();
  std::string ipvs_table(const std::string& ns);
  Result measure(const std::string& name, const std::string& desc, double t_fault, double t_end,
                 double t_heal = 0);
  void progress(const std::string& s) {
    std::fprintf(stderr, "drill: %s\n", s.c_str());  // stderr: --json stays clean on stdout
  }
  Result scenario(const std::string& name);
  double last_failure(double t0, double t1);
  void report(const std::vector<Result>& results);

  Options o_;
  LabParams p_;
  std::map<std::string, Budget> budgets_;
  Lab lab_;
  Traffic traffic_;
  Sampler sampler_;
  pid_t directors_[2] = {-1, -1};
  pid_t reals_[3] = {-1, -1, -1};
  int weights_[3] = {1, 1, 1};
  // Each scenario's window, from its fault to the end of its restore: requests failing
  // outside every window are failures in steady state, which no budget allows.
  std::vector<std::pair<double, double>> windows_;
  double traffic_start_ = 0, traffic_end_ = 0;
};

std::string Drill::write_config(int i) {
  std::string name = i == 0 ? "a" : "b";
  bool nat = lab_.mode == Mode::nat;
  std::ostringstream c;
  c << "# written by hadirector drill\n[global]\nrouter_id = \"drill-" << name << "\"\n"
    << "control_socket = \"" << lab_.workdir << "/" << name << ".sock\"\n"
    << "runtime_dir = \"" << lab_.workdir << "/" << name << "-run\"\n"
    << "reconcile_interval = \"1s\"\n"
    << "lvs_sync_daemon = { interface = \"" << (nat ? "eth1" : "eth0")
    << "\", vrrp_instance = \"VI_1\", sync_id = 51 }\n\n";
  auto instance = [&](const char* iname, const char* ifname, int vrid, const std::string& vip,
                      const char* label) {
    c << "[[vrrp_instance]]\nname = \"" << iname << "\"\ninterface = \"" << ifname << "\"\n"
      << "virtual_router_id = " << vrid << "\npriority = " << (i == 0 ? 150 : 100) << "\n"
      << "version = " << p_.version << "\n"
      << "advert_interval = \"" << static_cast<int>(std::lround(p_.advert * 1000)) << "ms\"\n"
      << "preempt = " << (p_.preempt ? "true" : "false") << "\n"
      << "preempt_delay = \"" << static_cast<int>(std::lround(p_.preempt_delay * 1000)) << "ms\"\n"
      << "track_interfaces = [\"" << ifname << "\"]\n"
      << "garp = { count = 3, spacing = \"50ms\", second_burst_delay = \"1s\" }\n"
      << "virtual_ipaddresses = [ { address = \"" << vip << "/24\", label = \"" << label
      << "\" } ]\n\n";
  };
  instance("VI_1", "eth0", 51, lab_.vip(), "eth0:1");
  if (nat) {
    instance("VI_GW", "eth1", 52, "10.10.0.1", "eth1:1");
    // The VIP and the real servers' gateway must share fate, or replies take the wrong director.
    c << "[[sync_group]]\nname = \"director\"\ninstances = [\"VI_1\", \"VI_GW\"]\n\n";
  }
  c << "[[virtual_server]]\naddress = \"" << lab_.vip() << "\"\nport = 80\nscheduler = \""
    << p_.scheduler << "\"\nforwarding = \"" << (nat ? "nat" : "dr") << "\"\n"
    << "inhibit_on_failure = " << (p_.inhibit ? "true" : "false") << "\n"
    << "slow_start = \"" << static_cast<int>(std::lround(p_.slow_start * 1000)) << "ms\"\n";
  if (p_.persistence > 0) c << "persistence_timeout = " << p_.persistence << "\n";
  c << "\n";
  for (int r = 0; r < 3; ++r) {
    c << "  [[virtual_server.real_server]]\n  address = \"" << lab_.real_ip(r) << "\"\n"
      << "  port = 80\n  weight = " << weights_[r] << "\n"
      << "  check = { type = \"" << p_.check_type << "\", "
      << (p_.check_type == "http" ? "path = \"" + p_.check_path + "\", " : std::string())
      << "interval = \"" << static_cast<int>(std::lround(p_.check_interval * 1000))
      << "ms\", timeout = \"" << static_cast<int>(std::lround(p_.check_timeout * 1000))
      << "ms\", rise = " << p_.rise << ", fall = " << p_.fall << " }\n\n";
  }
  std::string path = lab_.workdir + "/" + name + ".toml";
  std::ofstream(path) << c.str();
  return path;
}

void Drill::start_director(int i) {
  std::string name = i == 0 ? "a" : "b";
  std::string cfg = write_config(i);
  auto c = spawn_logged(in_ns(lab_.ns(name), {o_.self, "run", "-c", cfg}),
                        lab_.workdir + "/" + name + ".log");
  directors_[i] = c.pid;
  std::string sock = lab_.workdir + "/" + name + ".sock";
  for (int k = 0; k < 100 && vrrp_state(sock) == "down"; ++k) sleep_s(0.05);
}

void Drill::stop_director(int i, int sig) {
  if (directors_[i] > 0) {
    // `ip netns exec` execs the daemon: the PID is hadirector's own.
    drill::stop(directors_[i], sig, 3000);
    directors_[i] = -1;
  }
}

void Drill::start_real(int i) {
  std::string role = "rs" + std::to_string(i + 1);
  auto c = spawn_logged(in_ns(lab_.ns(role), {o_.self, "drill-httpd", "--listen", "0.0.0.0:80",
                                              "--id", role, "--fail-file",
                                              lab_.workdir + "/" + role + ".fail"}),
                        lab_.workdir + "/" + role + ".log");
  reals_[i] = c.pid;
}

void Drill::stop_real(int i) {
  drill::stop(reals_[i], SIGKILL, 1000);
  reals_[i] = -1;
}

std::string Drill::ipvs_table(const std::string& ns) {
  auto r = drill::run(in_ns(ns, {"ipvsadm", "-Ln"}));
  return r.status == 0 ? r.out : "(ipvsadm failed: " + r.out + ")";
}

std::string Drill::master_ns() {
  if (vrrp_state(lab_.workdir + "/a.sock") == "MASTER") return lab_.ns("a");
  if (vrrp_state(lab_.workdir + "/b.sock") == "MASTER") return lab_.ns("b");
  return "";
}

// A Master, B Backup, and the master's table holds every real server with its weight.
bool Drill::wait_steady(double timeout) {
  auto end = Clock::now() + std::chrono::duration<double>(timeout);
  while (Clock::now() < end && !g_interrupted) {
    if (vrrp_state(lab_.workdir + "/a.sock") == "MASTER" &&
        vrrp_state(lab_.workdir + "/b.sock") == "BACKUP") {
      std::string t = ipvs_table(lab_.ns("a"));
      bool all = true;
      for (int r = 0; r < 3; ++r) {
        std::string line = lab_.real_ip(r) + ":80";
        auto p = t.find(line);
        if (p == std::string::npos) {
          all = false;
          break;
        }
        std::istringstream is(t.substr(p + line.size()));
        std::string fwd;
        int w = -1;
        is >> fwd >> w;
        if (w != weights_[r]) all = false;
      }
      if (all) return true;
    }
    sleep_s(0.1);
  }
  return false;
}

Result Drill::measure(const std::string& name, const std::string& desc, double t_fault,
                      double t_end, double t_heal) {
  Result r;
  r.name = name;
  r.description = desc;
  auto ev = traffic_.between(t_fault - 0.5, t_end);
  double last_fail_start = -1;
  for (auto& e : ev) {
    if (e.kind != 'R') continue;
    ++r.requests;
    if (!e.ok) {
      ++r.failed;
      last_fail_start = std::max(last_fail_start, e.t0);
    } else {
      ++r.served_by[e.server];
      if (e.t1 - e.t0 > 0.5) ++r.slow;
    }
  }
  if (last_fail_start > 0) {
    double recovered = t_end;
    for (auto& e : ev)
      if (e.kind == 'R' && e.ok && e.t0 > last_fail_start) recovered = std::min(recovered, e.t1);
    r.outage_s = std::max(0.0, recovered - t_fault);
    if (t_heal > 0) r.after_heal_s = std::max(0.0, recovered - t_heal);
  }
  std::map<int, bool> broken;
  for (auto& e : ev) {
    if (e.kind != 'L') continue;
    broken[e.conn] = broken[e.conn] || !e.ok;
  }
  r.long_total = o_.longs;
  for (auto& [c, b] : broken) r.long_broken += b ? 1 : 0;
  double count_from = t_heal > 0 ? t_heal + 2 * p_.advert + 0.1 : t_fault - 0.5;
  for (auto& s : sampler_.between(count_from, t_end)) {
    int m = (s.a == "MASTER") + (s.b == "MASTER");
    r.max_masters = std::max(r.max_masters, m);
    ++r.samples;
  }
  std::string m = master_ns();
  r.ipvs_table = m.empty() ? "(no master)" : ipvs_table(m);
  return r;
}

double Drill::last_failure(double t0, double t1) {
  double last = 0;
  for (auto& e : traffic_.between(t0, t1))
    if (e.kind == 'R' && !e.ok) last = std::max(last, e.t0 - t0);
  return last;
}

Result Drill::scenario(const std::string& name) {
  progress("scenario " + name + ": waiting for steady state");
  bool steady = wait_steady(20);
  if (!windows_.empty() && windows_.back().second == 0) windows_.back().second = now();
  if (!steady) {
    Result r;
    r.name = name;
    r.passed = false;
    r.violations.push_back("lab never reached steady state (A MASTER, B BACKUP, 3 real servers)");
    return r;
  }
  sleep_s(1.0);
  double t0 = now();
  windows_.push_back({t0 - 0.5, 0});
  Result r;
  if (name == "master-kill") {
    progress("master-kill: SIGKILL director A");
    stop_director(0, SIGKILL);
    sleep_s(4);
    r = measure(name, "Master killed with SIGKILL", t0, now());
    // A crashed box keeps its addresses; a restart must clean them.
    start_director(0);
  } else if (name == "master-stop") {
    progress("master-stop: SIGTERM director A");
    stop_director(0, SIGTERM);
    sleep_s(3);
    r = measure(name, "Master stopped gracefully (SIGTERM)", t0, now());
    start_director(0);
  } else if (name == "link-cut") {
    progress("link-cut: director A's links down");
    for (auto& p : lab_.director_ports(0)) must(in_ns(lab_.ns("sw"), {"ip", "link", "set", p, "down"}));
    sleep_s(4);
    r = measure(name, "Master's links cut", t0, now());
    for (auto& p : lab_.director_ports(0)) must(in_ns(lab_.ns("sw"), {"ip", "link", "set", p, "up"}));
  } else if (name == "rs-down") {
    progress("rs-down: real server rs1 dies, then comes back");
    stop_real(0);
    sleep_s(3);
    double t_back = now();
    start_real(0);
    sleep_s(p_.rise * p_.check_interval + p_.slow_start + 2);
    r = measure(name, "a real server dies and comes back", t0, now());
    r.failing_after = last_failure(t0, t_back);
    double back = -1;
    for (auto& e : traffic_.between(t_back, now()))
      if (e.kind == 'R' && e.ok && e.server == "rs1") {
        back = e.t1 - t_back;
        break;
      }
    char buf[160];
    double back_budget = p_.rise * p_.check_interval + p_.check_timeout + 1.0;
    if (back < 0) {
      r.violations.push_back("rs1 never served again after coming back");
    } else if (back > back_budget) {
      std::snprintf(buf, sizeof buf, "rs1 served again %.2fs after it came back, budget rise x interval + timeout + 1s = %.2fs", back, back_budget);
      r.violations.push_back(buf);
    }
  } else if (name == "rs-500") {
    progress("rs-500: real server rs2 answers 500");
    std::ofstream(lab_.workdir + "/rs2.fail") << "500\n";
    sleep_s(3);
    double t_fixed = now();
    ::unlink((lab_.workdir + "/rs2.fail").c_str());
    sleep_s(p_.rise * p_.check_interval + p_.slow_start + 2);
    r = measure(name, "a real server answers 500", t0, now());
    r.failing_after = last_failure(t0, t_fixed);
  } else if (name == "reload-weight") {
    progress("reload-weight: rs3 weight 1 -> 3 on both directors, SIGHUP");
    weights_[2] = 3;
    write_config(0);
    write_config(1);
    ::kill(directors_[0], SIGHUP);
    ::kill(directors_[1], SIGHUP);
    sleep_s(2.5);
    r = measure(name, "reload with a changed weight", t0, now());
    if (r.ipvs_table.find(lab_.real_ip(2) + ":80") == std::string::npos ||
        r.ipvs_table.find(" 3 ", r.ipvs_table.find(lab_.real_ip(2) + ":80")) == std::string::npos)
      r.violations.push_back("rs3 does not have weight 3 in the kernel table after reload");
    weights_[2] = 1;
    write_config(0);
    write_config(1);
    ::kill(directors_[0], SIGHUP);
    ::kill(directors_[1], SIGHUP);
  } else if (name == "wrr-share") {
    progress("wrr-share: weights 1:2:3, new connections should follow them");
    weights_[0] = 1, weights_[1] = 2, weights_[2] = 3;
    write_config(0);
    write_config(1);
    ::kill(directors_[0], SIGHUP);
    ::kill(directors_[1], SIGHUP);
    sleep_s(1.0);
    double t_measure = now();
    sleep_s(6.0);
    r = measure(name, "new connections share out as the weights say (wrr 1:2:3)", t0, now());
    std::map<std::string, int> share;
    int total = 0;
    for (auto& e : traffic_.between(t_measure, now()))
      if (e.kind == 'R' && e.ok) ++share[e.server], ++total;
    r.served_by = share;
    for (int i = 0; i < 3 && total > 0; ++i) {
      std::string rs = "rs" + std::to_string(i + 1);
      double want = (i + 1) / 6.0, got = double(share[rs]) / total;
      if (std::abs(got - want) > 0.3 * want) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "%s served %.0f%% of %d new connections, weights say %.0f%%",
                      rs.c_str(), got * 100, total, want * 100);
        r.violations.push_back(buf);
      }
    }
    if (total < 50) r.violations.push_back("too few requests to measure shares");
    weights_[0] = weights_[1] = weights_[2] = 1;
    write_config(0);
    write_config(1);
    ::kill(directors_[0], SIGHUP);
    ::kill(directors_[1], SIGHUP);
  } else if (name == "partition") {
    progress("partition: VRRP dropped between the directors, then healed");
    auto sw = lab_.ns("sw");
    must(in_ns(sw, {"nft", "add", "table", "bridge", "hddrill"}));
    must(in_ns(sw, {"nft", "add chain bridge hddrill fwd2 { type filter hook forward priority 0 ; }"}));
    must(in_ns(sw, {"nft", "add rule bridge hddrill fwd2 ip protocol 112 drop"}));
    t0 = now();  // the fault is in effect once the rule is in place
    sleep_s(2);
    // The partition ends when the rule is gone, not when nft was started: under
    // emulation the command itself can take a few hundred milliseconds.
    must(in_ns(sw, {"nft", "delete", "table", "bridge", "hddrill"}));
    double t_heal = now();
    sleep_s(3);
    r = measure(name, "partition between the directors, then heal", t0, now(), t_heal);
    if (r.max_masters > 1) r.violations.push_back("two Masters after the partition healed");
  }
  if (r.max_masters > 1 && name != "partition")
    r.violations.push_back("two Masters at once");
  const Budget& b = budgets_[name];
  r.budget = b;
  char buf[160];
  if (b.max_outage > 0 && r.outage_s > b.max_outage) {
    std::snprintf(buf, sizeof buf, "outage %.2fs above its budget of %.2fs", r.outage_s, b.max_outage);
    r.violations.push_back(buf);
  }
  if (b.max_after_heal > 0 && r.after_heal_s > b.max_after_heal) {
    std::snprintf(buf, sizeof buf, "VIP answered %.2fs after the partition healed, budget %.2fs",
                  r.after_heal_s, b.max_after_heal);
    r.violations.push_back(buf);
  }
  if (b.max_failed >= 0 && r.failed > b.max_failed) {
    std::snprintf(buf, sizeof buf, "%d failed requests, budget %d", r.failed, b.max_failed);
    r.violations.push_back(buf);
  }
  if (b.max_failing_after > 0 && r.failing_after > b.max_failing_after) {
    std::snprintf(buf, sizeof buf, "requests still failing %.2fs after the fault, budget %.2fs",
                  r.failing_after, b.max_failing_after);
    r.violations.push_back(buf);
  }
  r.passed = r.violations.empty();
  progress(name + (r.passed ? ": passed" : ": FAILED"));
  // The restore (a restarted director preempting back, say) belongs to this window too; it ends
  // when the next scenario finds the lab steady again (set there) or when traffic stops.
  return r;
}

void Drill::report(const std::vector<Result>& results) {
  int outside = 0, total = 0;
  for (auto& e : traffic_.between(traffic_start_, traffic_end_ + 5)) {
    if (e.kind != 'R') continue;
    ++total;
    bool in = false;
    for (auto& [a, b] : windows_) in = in || (e.t0 >= a && e.t0 < b);
    if (!e.ok && !in) ++outside;
  }
  if (o_.json) {
    JsonWriter w(true);
    w.begin_object();
    w.field("mode", lab_.mode == Mode::nat ? "nat" : "dr");
    w.field("vrrp_version", p_.version);
    w.field("advert_interval_s", p_.advert).field("master_down_interval_s", p_.mdi());
    w.field("check_interval_s", p_.check_interval).field("rate_per_s", o_.rate);
    w.key("config_notes").begin_array();
    for (auto& n : p_.notes) w.value(n);
    w.end_array();
    bool all = true;
    w.key("scenarios").begin_array();
    for (auto& r : results) {
      all = all && r.passed;
      w.begin_object();
      w.field("name", r.name).field("description", r.description).field("passed", r.passed);
      w.field("outage_s", r.outage_s).field("requests", r.requests).field("failed", r.failed);
      w.field("slow", r.slow).field("long_lived", r.long_total);
      w.field("failing_after_s", r.failing_after).field("after_heal_s", r.after_heal_s);
      w.key("budget").begin_object();
      w.field("max_outage_s", r.budget.max_outage).field("max_failed", r.budget.max_failed);
      w.field("max_failing_after_s", r.budget.max_failing_after);
      w.field("max_after_heal_s", r.budget.max_after_heal);
      w.end_object();
      w.field("long_lived_broken", r.long_broken).field("max_masters", r.max_masters);
      w.field("master_samples", r.samples);
      w.key("served_by").begin_object();
      for (auto& [k, v] : r.served_by) w.field(k, v);
      w.end_object();
      w.key("violations").begin_array();
      for (auto& v : r.violations) w.value(v);
      w.end_array();
      w.field("ipvs_table", r.ipvs_table);
      w.end_object();
    }
    w.end_array();
    w.field("requests", total).field("failed_outside_windows", outside);
    w.field("passed", all && outside == 0);
    w.end_object();
    std::cout << w.str() << "\n";
    return;
  }
  std::printf("\nhadirector drill, %s mode: VRRP adverts %.0f ms (Master_Down_Interval %.0f ms), "
              "checks every %.0f ms, %.0f requests/s + %d long-lived connections\n\n",
              lab_.mode == Mode::nat ? "NAT" : "DR", p_.advert * 1e3, p_.mdi() * 1e3,
              p_.check_interval * 1e3, o_.rate, o_.longs);
  for (auto& n : p_.notes) std::printf("  --config: %s\n", n.c_str());
  std::printf("%-14s %-7s %9s %8s %7s %5s %11s %8s\n", "scenario", "result", "outage", "requests",
              "failed", "slow", "long-lived", "masters");
  for (auto& r : results) {
    std::printf("%-14s %-7s %8.2fs %8d %7d %5d %5d/%-5d %8d\n", r.name.c_str(),
                r.passed ? "ok" : "FAIL", r.outage_s, r.requests, r.failed, r.slow,
                r.long_total - r.long_broken, r.long_total, r.max_masters);
    for (auto& v : r.violations) std::printf("    ! %s\n", v.c_str());
  }
  std::printf("\n%d requests in all; %d failed outside the scenarios' windows (steady state)%s\n",
              total, outside, outside ? "  <-- FAIL" : "");
  if (!results.empty()) std::printf("\nfinal IPVS table:\n%s", results.back().ipvs_table.c_str());
}

int Drill::run() {
  char tmpl[] = "/tmp/hd-drill-XXXXXX";
  lab_.workdir = mkdtemp(tmpl);
  std::mt19937 rng(std::random_device{}());
  char px[8];
  std::snprintf(px, sizeof px, "hd%04x", static_cast<unsigned>(rng() & 0xffff));
  lab_.prefix = px;
  lab_.mode = o_.mode;
  std::vector<Result> results;
  int rc = 0;
  try {
    progress(std::string("building the lab (") + (o_.mode == Mode::nat ? "NAT" : "DR") +
             ", namespaces " + lab_.prefix + "-*)");
    lab_.build();
    if (o_.mode == Mode::dr) {
      // The real-server role by hand until `hadirector run` with [realserver] lands.
      for (int i = 0; i < 3; ++i) {
        auto n = lab_.ns("rs" + std::to_string(i + 1));
        must(in_ns(n, {"ip", "addr", "add", lab_.vip() + "/32", "dev", "lo", "label", "lo:0"}));
        for (auto k : {"net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
                       "net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.eth0.arp_announce=2"})
          must(in_ns(n, {"sysctl", "-qw", k}));
      }
    }
    for (int i = 0; i < 3; ++i) start_real(i);
    start_director(0);
    sleep_s(0.3);
    start_director(1);
    sampler_.start(lab_.workdir + "/a.sock", lab_.workdir + "/b.sock");
    if (!wait_steady(30)) throw std::runtime_error("the lab never reached steady state; logs in " + lab_.workdir);
    progress("lab is up; starting client traffic");
    traffic_start_ = now();
    traffic_.start(lab_, o_, o_.self);
    sleep_s(1.5);
    for (auto& s : o_.scenarios) {
      if (g_interrupted) break;
      try {
        results.push_back(scenario(s));
      } catch (const std::exception& e) {
        Result r;
        r.name = s;
        r.passed = false;
        r.violations.push_back(std::string("could not run: ") + e.what());
        results.push_back(r);
        progress(s + ": FAILED (" + e.what() + ")");
      }
    }
    if (!windows_.empty() && windows_.back().second == 0) {
      // Let the last restore settle before traffic stops.
      wait_steady(20);
      windows_.back().second = now();
    }
    traffic_end_ = now();
    traffic_.stop();
    sampler_.stop();
    report(results);
    for (auto& r : results)
      if (!r.passed) rc = 1;
    for (auto& e : traffic_.between(traffic_start_, traffic_end_ + 5)) {
      bool in = false;
      for (auto& [a, b] : windows_) in = in || (e.t0 >= a && e.t0 < b);
      if (e.kind == 'R' && !e.ok && !in) rc = 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "drill: error: %s\n", e.what());
    rc = 2;
  }
  traffic_.stop();
  sampler_.stop();
  if (o_.keep) {
    std::fprintf(stderr, "drill: --keep: the lab stays up. Enter a namespace with:\n");
    for (auto& n : lab_.namespaces) std::fprintf(stderr, "  ip netns exec %s bash\n", n.c_str());
    std::fprintf(stderr, "configs and logs: %s\nremove it with: for n in $(ip netns list | grep -o '^%s-[a-z0-9]*'); do ip netns del $n; done\n",
                 lab_.workdir.c_str(), lab_.prefix.c_str());
  } else {
    for (int i = 0; i < 2; ++i) stop_director(i, SIGTERM);
    lab_.destroy();
    if (rc == 0) must({"rm", "-rf", lab_.workdir});
    else std::fprintf(stderr, "drill: logs kept in %s\n", lab_.workdir.c_str());
  }
  return rc;
}

double secs(Duration d) { return std::chrono::duration<double>(d).count(); }

// Takes from an operator's config what fits the lab: the first VRRP instance's timers and
// the first virtual server's scheduling and checks. Addresses and interfaces stay the lab's.
std::string params_from_config(const std::string& path, LabParams& p, Options& o) {
  auto r = config::load_file(path);
  if (!r.ok()) {
    std::string all;
    for (auto& e : r.errors) all += e.str() + "\n";
    return all;
  }
  const auto& c = *r.config;
  if (!c.vrrp_instances.empty()) {
    const auto& vi = c.vrrp_instances.front();
    p.version = vi.version;
    p.advert = secs(vi.advert_interval);
    p.preempt = vi.preempt;
    p.preempt_delay = secs(vi.preempt_delay);
    p.notes.push_back("VRRP v" + std::to_string(p.version) + ", advert_interval, preempt from instance '" +
                      vi.name + "' (priorities stay 150/100, addresses the lab's)");
    if (vi.family() != Family::v4) p.notes.push_back("IPv6 instance: the lab runs IPv4");
  } else {
    p.notes.push_back("no vrrp_instance: the lab's defaults");
  }
  if (!c.virtual_servers.empty()) {
    const auto& vs = c.virtual_servers.front();
    p.scheduler = vs.scheduler;
    p.persistence = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(vs.persistence_timeout).count());
    p.inhibit = vs.inhibit_on_failure;
    p.slow_start = secs(vs.slow_start);
    if (!o.mode_given) {
      if (vs.forwarding == config::Forwarding::dr) o.mode = Mode::dr;
      else if (vs.forwarding == config::Forwarding::nat) o.mode = Mode::nat;
      else p.notes.push_back("tun forwarding does not fit the lab: drilled as nat");
    }
    p.notes.push_back("scheduler " + vs.scheduler + ", persistence, inhibit_on_failure, slow_start from " +
                      vs.key());
    for (auto& rs : vs.real_servers) {
      if (!rs.check) continue;
      const auto& ck = *rs.check;
      p.check_interval = secs(ck.interval);
      p.check_timeout = secs(ck.timeout);
      p.rise = ck.rise;
      p.fall = ck.fall;
      if (ck.type == config::CheckType::tcp || ck.type == config::CheckType::http) {
        p.check_type = config::to_string(ck.type);
        if (ck.type == config::CheckType::http) p.check_path = ck.path;
      } else {
        p.notes.push_back(std::string(config::to_string(ck.type)) +
                          " check does not fit the lab's servers: drilled as http with the same timers");
      }
      p.notes.push_back("check timers (interval, timeout, rise, fall) from real server " + rs.address.str());
      break;
    }
  }
  return "";
}

// The drill's own config: traffic and per-scenario budgets. Errors name FILE:LINE:COL.
std::string load_drill_config(const std::string& path, Options& o,
                              std::map<std::string, Budget>& budgets) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return path + ":" + std::to_string(e.source().begin.line) + ":" +
           std::to_string(e.source().begin.column) + ": error: " + std::string(e.description());
  }
  std::string err;
  auto pos = [&](const toml::node& n) {
    return path + ":" + std::to_string(n.source().begin.line) + ":" +
           std::to_string(n.source().begin.column) + ": error: ";
  };
  auto duration = [&](const toml::node& n, double& dst) {
    if (auto i = n.value<int64_t>()) dst = static_cast<double>(*i);
    else if (auto f = n.value<double>()) dst = *f;
    else if (auto s = n.value<std::string>(); s && config::parse_duration(*s)) dst = secs(*config::parse_duration(*s));
    else err += pos(n) + "not a duration\n";
  };
  for (auto&& [k, v] : t) {
    std::string key(k.str());
    if (key == "traffic" && v.is_table()) {
      for (auto&& [tk, tv] : *v.as_table()) {
        if (tk.str() == "rate" && tv.value<double>()) o.rate = *tv.value<double>();
        else if (tk.str() == "long_lived" && tv.value<int64_t>()) o.longs = static_cast<int>(*tv.value<int64_t>());
        else err += pos(tv) + "unknown or mistyped key '" + std::string(tk.str()) + "' in [traffic]\n";
      }
    } else if (key == "budget" && v.is_table()) {
      for (auto&& [sk, sv] : *v.as_table()) {
        std::string sc(sk.str());
        if (std::find(kAllScenarios.begin(), kAllScenarios.end(), sc) == kAllScenarios.end() ||
            !sv.is_table()) {
          err += pos(sv) + "unknown scenario '" + sc + "' in [budget]\n";
          continue;
        }
        Budget& b = budgets[sc];
        for (auto&& [bk, bv] : *sv.as_table()) {
          std::string name(bk.str());
          if (name == "max_outage") duration(bv, b.max_outage);
          else if (name == "max_failing_after") duration(bv, b.max_failing_after);
          else if (name == "max_after_heal" && sc == "partition") duration(bv, b.max_after_heal);
          else if (name == "max_failed" && bv.value<int64_t>()) b.max_failed = static_cast<int>(*bv.value<int64_t>());
          else err += pos(bv) + "unknown or mistyped key '" + name + "' in [budget." + sc + "]\n";
        }
      }
    } else {
      err += pos(v) + "unknown key '" + key + "' (expected [traffic] and [budget.SCENARIO])\n";
    }
  }
  return err;
}

bool host_has_ipvs() {
  struct stat st;
  if (::stat("/proc/net/ip_vs", &st) == 0) return true;
  drill::run({"modprobe", "-q", "ip_vs"});
  return ::stat("/proc/net/ip_vs", &st) == 0;
}

std::string self_path() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "hadirector";
  buf[n] = 0;
  return buf;
}

std::string which(const std::string& prog) {
  auto r = drill::run({"sh", "-c", "command -v " + prog});
  std::string p = r.out;
  while (!p.empty() && (p.back() == '\n')) p.pop_back();
  return r.status == 0 ? p : "";
}

int run_in_vm(const std::vector<std::string>& args, const std::string& self, bool keep) {
  std::string runner = getenv("HD_VM_RUNNER") ? getenv("HD_VM_RUNNER")
                                              : std::string(HD_SOURCE_DIR) + "/tests/vm/run-in-vm.sh";
  struct stat st;
  if (::stat(runner.c_str(), &st) != 0) {
    std::fprintf(stderr,
                 "drill: this kernel has no IPVS and the VM runner (%s) is missing; set HD_VM_RUNNER "
                 "or run on a kernel with ip_vs\n",
                 runner.c_str());
    return 2;
  }
  std::fprintf(stderr, "drill: this kernel has no IPVS: running the lab inside a VM (Debian's kernel "
                       "under qemu, %s)\n", runner.c_str());
  std::vector<std::string> argv = {runner, "--timeout", "580", "--mem", "1024", "--file", self};
  if (keep) {
    // The lab stays up inside the VM: its console becomes this terminal until `exit`.
    argv.push_back("--interactive");
    std::fprintf(stderr, "drill: --keep: after the drill, a shell in the VM opens here; `exit` "
                         "powers the VM off\n");
  }
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--config" || args[i] == "--drill-config") {
      char* abs = realpath(args[i + 1].c_str(), nullptr);
      if (abs) {
        argv.insert(argv.end(), {"--file", abs});
        free(abs);
      }
    }
  for (auto prog : {"ipvsadm", "nft", "ip", "sysctl"}) {
    auto p = which(prog);
    if (!p.empty()) argv.insert(argv.end(), {"--file", p});
  }
  // Partitions are made with nftables on the lab's bridge.
  for (auto mod : {"nf_tables", "nft_meta_bridge"}) argv.insert(argv.end(), {"--module", mod});
  argv.insert(argv.end(), {"--", self, "drill", "--no-vm"});
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> a;
  for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  execv(a[0], a.data());
  std::perror("drill: exec VM runner");
  return 2;
}

}  // namespace

int drill_main(const std::vector<std::string>& args) {
  Options o;
  o.self = self_path();
  std::vector<std::string> pass;  // arguments forwarded to the VM
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto val = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : ""; };
    if (a == "-h" || a == "--help") {
      std::cout << "usage: hadirector drill [--mode nat|dr] [--scenario NAME]... [--json] [--keep]\n"
                   "                        [--rate N] [--long N] [--config FILE] [--drill-config FILE]\n"
                   "--config FILE: drill an operator's hadirector config on the lab: its VRRP timers,\n"
                   "  scheduler and check timers (addresses and interfaces stay the lab's).\n"
                   "--drill-config FILE: [traffic] rate, long_lived; [budget.SCENARIO] max_outage,\n"
                   "  max_failed, max_failing_after, max_after_heal (partition) (defaults derive from the VRRP and check timers).\n"
                   "Builds a lab of network namespaces (client, two directors, three real servers),\n"
                   "runs HTTP traffic through the VIP and plays failure scenarios:\n"
                   "  master-kill master-stop link-cut rs-down rs-500 reload-weight wrr-share partition\n"
                   "Exit status 0 when every scenario kept its budget, 1 otherwise, 2 on error.\n"
                   "On a kernel without IPVS it runs inside the project's qemu VM.\n";
      return 0;
    } else if (a == "--mode") {
      std::string m = val();
      if (m != "nat" && m != "dr") {
        std::cerr << "drill: --mode must be nat or dr\n";
        return 2;
      }
      o.mode = m == "dr" ? Mode::dr : Mode::nat;
      o.mode_given = true;
      pass.insert(pass.end(), {"--mode", m});
    } else if (a == "--config" || a == "-c") {
      o.user_config = val();
      pass.insert(pass.end(), {"--config", o.user_config});
    } else if (a == "--drill-config") {
      o.drill_config = val();
      pass.insert(pass.end(), {"--drill-config", o.drill_config});
    } else if (a == "--scenario") {
      std::string s = val();
      if (std::find(kAllScenarios.begin(), kAllScenarios.end(), s) == kAllScenarios.end()) {
        std::cerr << "drill: unknown scenario '" << s << "'\n";
        return 2;
      }
      o.scenarios.push_back(s);
      pass.insert(pass.end(), {"--scenario", s});
    } else if (a == "--json") {
      o.json = true;
      pass.push_back(a);
    } else if (a == "--keep") {
      o.keep = true;
      pass.push_back(a);
    } else if (a == "--no-vm") {
      o.no_vm = true;
    } else if (a == "--rate") {
      o.rate = std::atof(val().c_str());
      pass.insert(pass.end(), {"--rate", std::to_string(o.rate)});
    } else if (a == "--long") {
      o.longs = std::atoi(val().c_str());
      pass.insert(pass.end(), {"--long", std::to_string(o.longs)});
    } else {
      std::cerr << "drill: unknown argument '" << a << "' (see --help)\n";
      return 2;
    }
  }
  if (o.scenarios.empty()) o.scenarios = kAllScenarios;
  LabParams params;
  if (!o.user_config.empty()) {
    if (auto err = params_from_config(o.user_config, params, o); !err.empty()) {
      std::cerr << err << "drill: " << o.user_config << " is invalid\n";
      return 2;
    }
  }
  auto budgets = default_budgets(params);
  if (!o.drill_config.empty()) {
    if (auto err = load_drill_config(o.drill_config, o, budgets); !err.empty()) {
      std::cerr << err;
      return 2;
    }
  }
  if (geteuid() != 0) {
    std::cerr << "drill: needs root (it creates network namespaces)\n";
    return 2;
  }
  if (!o.no_vm && !host_has_ipvs()) {
    if (o.keep && !isatty(0)) {
      std::cerr << "drill: --keep on a kernel without IPVS opens a shell in the VM: it needs a "
                   "terminal\n";
      return 2;
    }
    return run_in_vm(pass, o.self, o.keep);
  }
  signal(SIGINT, [](int) { g_interrupted = true; });
  signal(SIGTERM, [](int) { g_interrupted = true; });
  signal(SIGPIPE, SIG_IGN);
  Drill d(o, params, budgets);
  return d.run();
}

}  // namespace hd::drill
