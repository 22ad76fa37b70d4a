// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/drill.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "daemon/config/writer.h"
#include "daemon/control/server.h"
#include "drill/clock.h"
#include "drill/lab_config.h"
#include "drill/report.h"
#include "drill/scenarios.h"
#include "drill/text.h"
#include "nftables/render.h"

namespace hd::drill {

extern std::atomic<bool> g_interrupted;

namespace {
// VmRSS (kB) and the number of open descriptors of a process; -1 when unreadable.
std::pair<long, long> footprint(pid_t pid) {
  long rss = -1, fds = 0;
  std::ifstream st("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(st, line);)
    if (line.rfind("VmRSS:", 0) == 0) rss = std::atol(line.c_str() + 6);
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  return {rss, ec ? -1 : fds};
}

// Whether a child of ours still runs; one that has exited is reaped and `pid` set to -1.
bool still_running(pid_t& pid) {
  if (pid <= 0) return false;
  int st = 0;
  if (waitpid(pid, &st, WNOHANG) == 0) return true;
  pid = -1;
  return false;
}
}  // namespace

Drill::Drill(Options o, LabParams p, std::map<std::string, Budget> b)
    : o_(std::move(o)), p_(std::move(p)), budgets_(std::move(b)) {}

void Drill::progress(const std::string& s) {
  std::fprintf(stderr, "drill: %s\n", s.c_str());  // stderr: stdout carries only the report
}

std::string Drill::socket_of(int i) const { return lab_.workdir + "/" + Lab::director(i) + ".sock"; }

std::string Drill::write_config(int i) {
  std::string path = lab_.workdir + "/" + Lab::director(i) + ".toml";
  // Made 0600 (with authentication it holds the lab's keys inline, which the loader refuses
  // in a file others can read), and written through the descriptor that made it.
  const std::string text = "# written by hadirector-drill\n" +
                           config::to_toml(director_config(lab_, p_, i, weights_, auth_[i]));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);  // an existing file keeps its mode through O_CREAT
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path);
  return path;
}

void Drill::set_auth(int i, std::optional<config::AuthSection> auth) {
  auth_[i] = std::move(auth);
  write_config(i);
  std::string reply, err;
  if (!control::request(socket_of(i), "reload", reply, err, std::chrono::milliseconds(5000)))
    throw std::runtime_error(Lab::director(i) + ": reload: " + err);
  if (reply.rfind("ok", 0) != 0)
    throw std::runtime_error(Lab::director(i) + ": reload refused: " + reply);
}

void Drill::start_director(int i) {
  std::string name = Lab::director(i);
  std::string cfg = write_config(i);
  auto c = spawn_logged(in_ns(lab_.ns(name), {o_.daemon, "run", "-c", cfg}),
                        lab_.workdir + "/" + name + ".log");
  directors_[i] = c.pid;
  for (int k = 0; k < 100 && vrrp_state(socket_of(i)) == "down"; ++k) sleep_s(0.05);
}

void Drill::stop_director(int i, int sig) {
  if (directors_[i] > 0) {
    // `ip netns exec` execs the daemon: the PID is hadirector's own. A SIGTERM hands over
    // first (Master_Down_Interval + handover_linger, bounded by the daemon).
    drill::stop(directors_[i], sig, sig == SIGTERM ? 12000 : 3000);
    directors_[i] = -1;
  }
}

void Drill::start_real_role(int r) {
  write_real_server_config(r, false);
  std::string name = Lab::real(r);
  auto c = spawn_logged(in_ns(lab_.ns(name), {o_.daemon, "run", "-c", lab_.workdir + "/" + name + ".toml"}),
                        lab_.workdir + "/" + name + "-role.log");
  roles_[r] = c.pid;
  std::string sock = lab_.workdir + "/" + name + ".sock", reply, err;
  for (int k = 0; k < 100; ++k, sleep_s(0.05))
    if (control::request(sock, "status", reply, err, std::chrono::milliseconds(500))) return;
  throw std::runtime_error(name + "'s real-server role did not start; see " + lab_.workdir + "/" +
                           name + "-role.log");
}

void Drill::write_real_server_config(int r, bool extra_vip) {
  std::ofstream(lab_.workdir + "/" + Lab::real(r) + ".toml")
      << "# written by hadirector-drill\n"
      << config::to_toml(real_server_config(lab_, r, extra_vip));
}

void Drill::fill_real_server_disk(bool full) {
  std::string filler = tmpfs_ + "/filler";
  if (!full) {
    ::unlink(filler.c_str());
    return;
  }
  // Until the file system refuses: the state file cannot grow by a byte.
  std::ofstream f(filler, std::ios::binary);
  std::string block(4096, 'x');
  for (int k = 0; k < 1024 && f; ++k) f.write(block.data(), static_cast<std::streamsize>(block.size())).flush();
  for (int k = 0; k < 4096 && f; ++k) f.put('x').flush();
}

void Drill::reload_real_server(int r, bool extra_vip) {
  write_real_server_config(r, extra_vip);
  if (roles_[r] > 0) ::kill(roles_[r], SIGHUP);
}

long Drill::real_server_status_number(int r, const std::string& after, const std::string& key) {
  return status_number_at(lab_.workdir + "/" + Lab::real(r) + ".sock", after, key);
}

bool Drill::real_server_has(int r, const std::string& address) {
  auto out = drill::run(in_ns(lab_.ns(Lab::real(r)), {"ip", "-o", "addr", "show", "dev", "lo"}));
  return out.out.find(" " + address + "/") != std::string::npos;
}

bool Drill::real_server_alive(int r) { return still_running(roles_[r]); }

void Drill::start_real(int i) {
  std::string role = Lab::real(i);
  auto c = spawn_logged(in_ns(lab_.ns(role), {o_.self, "httpd", "--listen", "0.0.0.0:80", "--id",
                                              role, "--fail-file",
                                              lab_.workdir + "/" + role + ".fail"}),
                        lab_.workdir + "/" + role + ".log");
  reals_[i] = c.pid;
}

void Drill::stop_real(int i) {
  drill::stop(reals_[i], SIGKILL, 1000);
  reals_[i] = -1;
}

void Drill::set_director_links(int i, bool up) {
  for (auto& p : lab_.director_ports(i))
    must(in_ns(lab_.ns("sw"), {"ip", "link", "set", p, up ? "up" : "down"}));
}

void Drill::set_real_failing(int i, bool failing) {
  std::string f = lab_.workdir + "/" + Lab::real(i) + ".fail";
  if (failing)
    std::ofstream(f) << "500\n";
  else
    ::unlink(f.c_str());
}

void Drill::set_weights(std::array<int, 3> w) {
  weights_ = w;
  write_config(0);
  write_config(1);
  for (pid_t d : directors_)
    if (d > 0) ::kill(d, SIGHUP);
}

void Drill::signal_director(int i, int sig) {
  if (directors_[i] > 0) ::kill(directors_[i], sig);
}

void Drill::reload_storm(double seconds, double period) {
  double end = now() + seconds;
  bool valid = false;
  while (now() < end || !valid) {
    valid = !valid;
    for (int i = 0; i < 2; ++i) {
      if (valid)
        write_config(i);
      else
        std::ofstream(lab_.workdir + "/" + Lab::director(i) + ".toml")
            << "# written by hadirector-drill: invalid on purpose (reload storm)\n[global\n";
      if (directors_[i] > 0) ::kill(directors_[i], SIGHUP);
    }
    sleep_s(period / 2);
  }
}

void Drill::set_partition(bool on) {
  auto sw = lab_.ns("sw");
  if (on) {
    must(in_ns(sw, {"nft", "add", "table", "bridge", "hddrill"}));
    must(in_ns(sw, {"nft", "add chain bridge hddrill fwd2 { type filter hook forward priority 0 ; }"}));
    must(in_ns(sw, {"nft", "add rule bridge hddrill fwd2 ip protocol 112 drop"}));
  } else {
    must(in_ns(sw, {"nft", "delete", "table", "bridge", "hddrill"}));
  }
}

void Drill::exhaust_descriptors(int i, bool on) {
  pid_t pid = directors_[i];
  if (pid <= 0) return;
  if (on) {
    rlimit cur{};
    if (prlimit(pid, RLIMIT_NOFILE, nullptr, &cur) != 0) throw std::runtime_error("prlimit: cannot read");
    saved_nofile_ = static_cast<long>(cur.rlim_cur);
    rlimit low = cur;
    low.rlim_cur = static_cast<rlim_t>(footprint(pid).second);
    if (prlimit(pid, RLIMIT_NOFILE, &low, nullptr) != 0) throw std::runtime_error("prlimit: cannot set");
    // Whatever the daemon closes from now on (a probe's socket) an accept() takes and we
    // keep: after a moment it has no descriptor left for anything new.
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string path = socket_of(i);
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    for (int k = 0; k < 16; ++k) {
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) break;
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS &&
          errno != EAGAIN) {
        ::close(fd);
        break;
      }
      held_.push_back(fd);
    }
  } else {
    for (int fd : held_) ::close(fd);
    held_.clear();
    if (saved_nofile_ >= 0) {
      rlimit cur{};
      prlimit(pid, RLIMIT_NOFILE, nullptr, &cur);
      cur.rlim_cur = static_cast<rlim_t>(saved_nofile_);
      prlimit(pid, RLIMIT_NOFILE, &cur, nullptr);
      saved_nofile_ = -1;
    }
  }
}

long Drill::flood_adverts(double seconds, double rate) {
  auto r = drill::run(in_ns(lab_.ns("client"),
                            {o_.self, "flood", "--from", "10.9.0.10", "--vrid", "51", "--vip",
                             lab_.vip(), "--version", std::to_string(p_.version), "--seconds",
                             strf("%.2f", seconds), "--rate", strf("%.0f", rate)}));
  long sent = -1;
  if (r.status != 0 || std::sscanf(r.out.c_str(), "sent %ld", &sent) != 1)
    throw std::runtime_error("flood failed: " + r.out);
  return sent;
}

void Drill::delete_director_interface(int i) { lab_.delete_interface(Lab::director(i), "eth0"); }

void Drill::recreate_director_interface(int i) {
  lab_.recreate_interface(Lab::director(i), "eth0");
}

// VRRP only (IP protocol 112, through band 3 of a prio qdisc), so client traffic is untouched.
void Drill::set_vrrp_netem(int i, bool on) {
  auto n = lab_.ns(Lab::director(i));
  if (!on) {
    must(in_ns(n, {"tc", "qdisc", "del", "dev", "eth0", "root"}));
    return;
  }
  must(in_ns(n, {"tc", "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "prio"}));
  must(in_ns(n, {"tc", "qdisc", "add", "dev", "eth0", "parent", "1:3", "handle", "30:", "netem",
                 "loss", "10%", "delay", "5ms", "5ms", "duplicate", "20%", "reorder", "25%"}));
  must(in_ns(n, {"tc", "filter", "add", "dev", "eth0", "parent", "1:0", "protocol", "ip", "prio",
                 "1", "u32", "match", "ip", "protocol", "112", "0xff", "flowid", "1:3"}));
}

std::string Drill::ctl(int i, const std::string& line) {
  std::string reply, err;
  if (!control::request(socket_of(i), line, reply, err, std::chrono::milliseconds(2000)))
    throw std::runtime_error("ctl " + line + " to director " + Lab::director(i) + ": " + err);
  if (reply.find("\"ok\":true") == std::string::npos)
    throw std::runtime_error("ctl " + line + " to director " + Lab::director(i) + ": " + reply);
  return reply;
}

long Drill::status_number(int i, const std::string& after, const std::string& key) {
  return status_number_at(socket_of(i), after, key);
}

long Drill::status_number_at(const std::string& sock, const std::string& after, const std::string& key) {
  std::string reply, err;
  if (!control::request(sock, "status --json", reply, err, std::chrono::milliseconds(2000)))
    return -1;
  // Pretty-printed: searched without its layout (the keys and names searched have no spaces).
  std::erase_if(reply, [](char c) { return c == ' ' || c == '\n'; });
  size_t from = after.empty() ? 0 : reply.find(after);
  if (from == std::string::npos) return -1;
  size_t p = reply.find("\"" + key + "\":", from);
  if (p == std::string::npos) return -1;
  return std::atol(reply.c_str() + p + key.size() + 3);
}

std::string Drill::ipvs_mismatch(int i) {
  std::string t = ipvs_table(lab_.ns(Lab::director(i)));
  // ipvsadm -Ln: "TCP  10.9.0.100:80 wrr" then "  -> 10.10.0.11:80  Masq  1  0  0" lines.
  std::istringstream is(t);
  std::vector<std::string> services, reals;
  for (std::string line; std::getline(is, line);) {
    std::istringstream ls(line);
    std::string a, b, c;
    ls >> a >> b >> c;
    if (a == "TCP" || a == "UDP" || a == "FWM" || a == "SCTP") services.push_back(a + " " + b + " " + c);
    if (a == "->" && b != "RemoteAddress:Port") {
      std::string w;
      ls >> w;
      reals.push_back(b + " " + c + " " + w);
    }
  }
  std::vector<std::string> want_reals;
  for (int r = 0; r < 3; ++r)
    want_reals.push_back(lab_.real_ip(r) + ":80 " + (lab_.mode == Mode::nat ? "Masq" : "Route") +
                         " " + std::to_string(weights_[static_cast<size_t>(r)]));
  std::sort(reals.begin(), reals.end());
  std::sort(want_reals.begin(), want_reals.end());
  std::vector<std::string> want_services = {"TCP " + lab_.vip() + ":80 " + p_.scheduler};
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (services == want_services && reals == want_reals) return "";
  return "kernel has [" + join(services) + "; " + join(reals) + "], desired [" +
         join(want_services) + "; " + join(want_reals) + "]";
}

std::string Drill::ipvs_table(const std::string& ns) {
  if (p_.nftables) return nft_table(ns);
  auto r = drill::run(in_ns(ns, {"ipvsadm", "-Ln"}));
  return r.status == 0 ? r.out : "(ipvsadm failed: " + r.out + ")";
}

// The nftables data plane's table as ipvsadm -Ln would print the same service (what the
// scenarios and the tests read): read from the kernel with nft, each real server's weight
// the width of its range in the service's numgen map (a server with weight 0 has none).
std::string Drill::nft_table(const std::string& ns) {
  auto r = drill::run(in_ns(ns, {"nft", "list", "table", "ip", "hadirector"}));
  if (r.status != 0) return "(nft failed: " + r.out + ")";
  std::string out = "IP Virtual Server version (nftables table ip hadirector)\n"
                    "Prot LocalAddress:Port Scheduler Flags\n"
                    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
  for (auto& [key, svc] : nft::parse_table(r.out)) {
    std::string proto(ipvs::to_string(key.protocol()));
    out += strf("%s  %s:%u %s\n", proto.c_str(), key.address().str().c_str(), key.port(),
                // numgen reads back as wrr: the lab's scheduler (rr or wrr) is what it ran.
                svc.scheduler == "wrr" ? p_.scheduler.c_str() : svc.scheduler.c_str());
    for (auto& d : svc.destinations)
      out += strf("  -> %s Masq %d 0 0\n", d.key.str().c_str(), d.weight);
  }
  return out;
}

std::string Drill::master_ns() {
  if (vrrp_state(socket_of(0)) == "MASTER") return lab_.ns("a");
  if (vrrp_state(socket_of(1)) == "MASTER") return lab_.ns("b");
  return "";
}

std::string Drill::master_ipvs_table() {
  std::string m = master_ns();
  return m.empty() ? "(no master)" : ipvs_table(m);
}

// A Master, B Backup, and A's kernel table is the desired one (ipvs_mismatch).
bool Drill::wait_steady(double timeout) {
  double end = now() + timeout;
  while (now() < end && !g_interrupted) {
    if (vrrp_state(socket_of(0)) == "MASTER" && vrrp_state(socket_of(1)) == "BACKUP" &&
        ipvs_mismatch(0).empty())
      return true;
    sleep_s(0.1);
  }
  return false;
}

Result Drill::measure(const Scenario& sc, double t_fault, double t_end, double t_heal) {
  Result r;
  r.name = sc.name;
  r.description = sc.description;
  auto ev = traffic_.between(t_fault - 0.5, t_end);
  double last_fail_start = -1;
  double failing_until = t_heal > 0 ? t_heal : t_end;
  for (auto& e : ev) {
    if (e.kind != 'R') continue;
    ++r.requests;
    if (!e.ok) {
      ++r.failed;
      if (r.failures.size() < 5)
        r.failures.push_back(strf("%+.3fs request: %s", e.t0 - t_fault, e.reason.c_str()));
      last_fail_start = std::max(last_fail_start, e.t0);
      if (e.t0 < failing_until) r.failing_after = std::max(r.failing_after, e.t0 - t_fault);
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
  // Long-lived slots: broken, and by whom. A slot whose connection was on the server the
  // scenario broke on purpose is counted apart (its end is the scenario's design).
  std::map<int, std::string> last_server;
  for (auto& e : traffic_.between(t_fault - 30, t_fault))
    if (e.kind == 'L' && e.ok) last_server[e.conn] = e.server;
  std::map<int, int> state;  // 0 fine, 1 broken, 2 broken on the failing server
  for (auto& e : ev) {
    if (e.kind != 'L') continue;
    int& s = state[e.conn];
    if (e.ok) {
      last_server[e.conn] = e.server;
      continue;
    }
    std::string on = e.server.empty() ? last_server[e.conn] : e.server;
    if (r.failures.size() < 5)
      r.failures.push_back(strf("%+.3fs long-lived %d on %s: %s", e.t1 - t_fault, e.conn,
                                on.empty() ? "?" : on.c_str(), e.reason.c_str()));
    bool deliberate = !sc.failing_server.empty() && on == sc.failing_server;
    if (!deliberate) s = 1;
    else if (s == 0) s = 2;
  }
  r.long_total = o_.longs;
  for (auto& [c, s] : state) {
    r.long_broken += s == 1;
    r.long_on_failed_server += s == 2;
  }
  double count_from = sc.split_by_design && t_heal > 0 ? t_heal + 2 * p_.advert + 0.1 : t_fault - 0.5;
  // Two Masters count when two samples in a row (50 ms apart, each a status request to both)
  // see them: a preemption has both MASTER for the one-way delay of the winner's advert, which
  // a single sample can straddle; a split that matters lasts longer.
  int previous = 0;
  for (auto& s : sampler_.between(count_from, t_end)) {
    int m = (s.a == "MASTER") + (s.b == "MASTER");
    r.max_masters = std::max(r.max_masters, std::min(m, std::max(previous, 1)));
    previous = m;
    ++r.samples;
  }
  r.ipvs_table = master_ipvs_table();
  return r;
}

Result Drill::play(const Scenario& sc) {
  progress("scenario " + sc.name + ": waiting for steady state");
  bool steady = wait_steady(20);
  // The previous scenario's restore ends here.
  if (!windows_.empty() && windows_.back().second == 0) windows_.back().second = now();
  if (!steady) {
    Result r;
    r.name = sc.name;
    r.passed = false;
    r.violations.push_back("lab never reached steady state (A MASTER, B BACKUP, 3 real servers)");
    return r;
  }
  sleep_s(1.0);
  windows_.push_back({now() - 0.5, 0});
  progress(sc.name + ": " + sc.description);
  Times t;
  t.fault = sc.act(*this);
  sleep_s(std::max(0.0, t.fault + sc.fault_s(p_) - now()));
  Result r;
  if (sc.heal_first) {
    t.heal = sc.heal(*this);
    sleep_s(sc.settle_s ? sc.settle_s(p_) : 0);
    t.end = now();
    r = measure(sc, t.fault, t.end, t.heal);
  } else {
    t.end = now();
    r = measure(sc, t.fault, t.end, 0);
  }
  if (sc.judge) sc.judge(*this, t, r);
  if (!sc.heal_first && sc.heal) sc.heal(*this);
  if (r.max_masters > 1 && !sc.split_by_design) r.violations.push_back("two Masters at once");
  const Budget& b = budgets_[sc.name];
  r.budget = b;
  if (b.max_outage > 0 && r.outage_s > b.max_outage)
    r.violations.push_back(strf("outage %.2fs above its budget of %.2fs", r.outage_s, b.max_outage));
  if (b.max_after_heal > 0 && r.after_heal_s > b.max_after_heal)
    r.violations.push_back(strf("VIP answered %.2fs after the heal, budget %.2fs", r.after_heal_s,
                                b.max_after_heal));
  if (b.max_failed >= 0 && r.failed > b.max_failed)
    r.violations.push_back(strf("%d failed requests, budget %d", r.failed, b.max_failed));
  if (b.max_long_broken >= 0 && r.long_broken > b.max_long_broken)
    r.violations.push_back(strf("%d long-lived connections broken, budget %d", r.long_broken,
                                b.max_long_broken));
  if (b.max_failing_after > 0 && r.failing_after > b.max_failing_after)
    r.violations.push_back(strf("requests still failing %.2fs after the fault, budget %.2fs",
                                r.failing_after, b.max_failing_after));
  r.passed = r.violations.empty();
  progress(sc.name + (r.passed ? ": passed" : ": FAILED"));
  // The restore (a restarted director preempting back, say) belongs to this window too; it
  // ends when the next scenario finds the lab steady again or when traffic stops.
  return r;
}

bool Drill::director_alive(int i) { return still_running(directors_[i]); }

// Scenarios in a random order (from the seed) with random pauses until the time is up.
// After each: both daemons must still run (a scenario that stops one restarts it; any other
// exit is a crash), and at the end director B, never restarted, must not have grown by more
// than 16 descriptors or by a quarter of its memory plus 8 MiB. Budgets, two Masters and
// failures outside the windows are judged per scenario as in a plain drill.
void Drill::soak(const std::function<void(const std::string&)>& play_one) {
  soak_.on = true;
  soak_.seed = o_.seed;
  std::mt19937_64 rng(o_.seed);
  progress("soak: " + std::to_string(static_cast<long>(o_.soak_s)) + " s, seed " +
           std::to_string(o_.seed) + " (replay with --seed " + std::to_string(o_.seed) + ")");
  double start = now(), end = start + o_.soak_s;
  std::tie(soak_.rss_kb_before, soak_.fds_before) = footprint(directors_[1]);
  while (now() < end && !g_interrupted) {
    const std::string& name = o_.scenarios[rng() % o_.scenarios.size()];
    play_one(name);
    ++soak_.faults[name];
    for (int i = 0; i < 2; ++i) {
      if (director_alive(i)) continue;
      auto breach = strf("t=%.1fs after %s: director %s is not running; restarted",
                         now() - start, name.c_str(), i == 0 ? "A" : "B");
      soak_.breaches.push_back(breach);
      progress("soak: BREACH: " + breach);
      start_director(i);
    }
    // Both kernel tables equal the desired one within a reconcile interval (1 s) of the lab
    // being steady again.
    if (wait_steady(20)) {
      for (int i = 0; i < 2; ++i) {
        std::string diff;
        for (double until = now() + 1.5; !(diff = ipvs_mismatch(i)).empty() && now() < until;)
          sleep_s(0.1);
        if (diff.empty()) continue;
        auto breach = strf("t=%.1fs after %s: director %s's IPVS table is not the desired one: %s",
                           now() - start, name.c_str(), i == 0 ? "A" : "B", diff.c_str());
        soak_.breaches.push_back(breach);
        progress("soak: BREACH: " + breach);
      }
      ++soak_.table_checks;
    }
    sleep_s(std::uniform_real_distribution<double>(0, 2)(rng));
  }
  soak_.duration_s = now() - start;
  std::tie(soak_.rss_kb_after, soak_.fds_after) = footprint(directors_[1]);
  if (soak_.fds_before >= 0 && soak_.fds_after > soak_.fds_before + 16)
    soak_.breaches.push_back("director B's descriptors grew from " +
                             std::to_string(soak_.fds_before) + " to " +
                             std::to_string(soak_.fds_after));
  if (soak_.rss_kb_before > 0 &&
      soak_.rss_kb_after > soak_.rss_kb_before + soak_.rss_kb_before / 4 + 8192)
    soak_.breaches.push_back("director B's memory grew from " +
                             std::to_string(soak_.rss_kb_before) + " kB to " +
                             std::to_string(soak_.rss_kb_after) + " kB");
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
      // The real servers' side of DR is hadirector's real-server role (the VIP on lo, ARP
      // hidden). rs1's runtime directory, where the role keeps its state file, is a small
      // tmpfs of its own, so disk-full can fill it.
      std::string dir = lab_.workdir + "/rs1-run";
      must({"mkdir", "-p", dir});
      must({"mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "hd-drill-rs1", dir});
      tmpfs_ = dir;
      for (int i = 0; i < 3; ++i) start_real_role(i);
    }
    for (int i = 0; i < 3; ++i) start_real(i);
    start_director(0);
    sleep_s(0.3);
    start_director(1);
    sampler_.start(socket_of(0), socket_of(1));
    if (!wait_steady(30)) throw std::runtime_error("the lab never reached steady state; logs in " + lab_.workdir);
    progress("lab is up; starting client traffic");
    traffic_start_ = now();
    traffic_.start(in_ns(lab_.ns("client"),
                         {o_.self, "client", "--target", lab_.vip() + ":80", "--rate",
                          std::to_string(o_.rate), "--long", std::to_string(o_.longs),
                          "--timeout-ms", "1000", "--long-interval-ms", "200"}));
    sleep_s(1.5);
    auto play_one = [&](const std::string& name) {
      const Scenario* sc = find_scenario(name);
      try {
        results.push_back(play(*sc));
      } catch (const std::exception& e) {
        Result r;
        r.name = name;
        r.passed = false;
        r.violations.push_back(std::string("could not run: ") + e.what());
        results.push_back(r);
        progress(name + ": FAILED (" + e.what() + ")");
      }
    };
    if (o_.soak_s > 0) {
      soak(play_one);
    } else {
      for (auto& name : o_.scenarios) {
        if (g_interrupted) break;
        play_one(name);
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
    for (auto& e : traffic_.between(traffic_start_, traffic_end_ + 5)) {
      if (e.kind != 'R') continue;
      ++requests_;
      bool in = false;
      for (auto& [a, b] : windows_) in = in || (e.t0 >= a && e.t0 < b);
      if (!e.ok && !in) ++failed_outside_;
    }
    Report rep{o_.mode, p_, o_.rate, o_.longs, results, requests_, failed_outside_, soak_};
    std::string out = o_.json ? report_json(rep) : report_text(rep);
    if (o_.report_markers) std::printf("%s\n", kReportBegin);
    std::fputs(out.c_str(), stdout);
    if (o_.report_markers) std::printf("%s\n", kReportEnd);
    std::fflush(stdout);
    rc = rep.passed() ? 0 : 1;
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
    if (!tmpfs_.empty()) drill::run({"umount", tmpfs_});
    if (rc == 0) must({"rm", "-rf", lab_.workdir});
    else std::fprintf(stderr, "drill: logs kept in %s\n", lab_.workdir.c_str());
  }
  return rc;
}

}  // namespace hd::drill
