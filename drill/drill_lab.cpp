// SPDX-License-Identifier: GPL-2.0-or-later
// The drill acting on its lab and reading it back: directors and real servers started,
// stopped, signalled, reconfigured and faulted; their status, IPVS and nftables tables read.
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
#include "drill/proc.h"
#include "drill/report.h"
#include "drill/scenarios.h"
#include "drill/text.h"
#include "nftables/render.h"

namespace hd::drill {

extern std::atomic<bool> g_interrupted;

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

void Drill::start_conntrackd(int i) {
  const std::string name = Lab::director(i), base = lab_.workdir + "/" + name + "-conntrackd";
  // FTFW (reliable) over UDP on the back link, an external cache (what the other director
  // sent, committed when this one becomes Master), files of its own in the workdir.
  std::ofstream(base + ".conf")
      << "# written by hadirector-drill\n"
      << "Sync {\n  Mode FTFW {\n    DisableExternalCache Off\n  }\n"
      << "  UDP {\n    IPv4_address " << lab_.director_back_ip(i) << "\n"
      << "    IPv4_Destination_Address " << lab_.director_back_ip(1 - i) << "\n"
      << "    Port 3780\n    Interface eth1\n    Checksum on\n  }\n}\n"
      << "General {\n  HashSize 8192\n  HashLimit 65535\n"
      << "  LogFile " << base << ".log\n  LockFile " << base << ".lock\n"
      << "  UNIX {\n    Path " << base << ".ctl\n  }\n"
      << "  NetlinkBufferSize 2097152\n  NetlinkBufferSizeMaxGrowth 8388608\n"
      << "  Filter From Userspace {\n    Protocol Accept {\n      TCP\n      UDP\n    }\n"
      << "    Address Ignore {\n      IPv4_address 127.0.0.1\n    }\n  }\n}\n";
  auto c = spawn_logged(in_ns(lab_.ns(name), {"conntrackd", "-C", base + ".conf"}), base + ".out");
  conntrackd_[i] = c.pid;
  // Up once its control socket answers (-s: its statistics).
  for (int k = 0; k < 100; ++k, sleep_s(0.05))
    if (drill::run(in_ns(lab_.ns(name), {"conntrackd", "-C", base + ".conf", "-s"})).status == 0) return;
  throw std::runtime_error(name + ": conntrackd did not start; see " + base + ".log");
}

void Drill::stop_conntrackd(int i) {
  if (conntrackd_[i] > 0) {
    drill::stop(conntrackd_[i], SIGTERM, 3000);
    conntrackd_[i] = -1;
  }
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

// Every port in one `ip -batch`: the links go down together, at the command's end as far
// as the clock can tell (Scenario::lab_command_act credits the command's time).
void Drill::set_director_links(int i, bool up) {
  std::string batch = lab_.workdir + "/links.batch";
  {
    std::ofstream f(batch);
    for (auto& p : lab_.director_ports(i)) f << "link set " << p << (up ? " up\n" : " down\n");
  }
  must(in_ns(lab_.ns("sw"), {"ip", "-batch", batch}));
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
  // The output holds stderr too: "flood: N sends failed" (a raw socket's ENOBUFS in a
  // loaded guest) may come before the "sent N" line, which is what counts.
  long sent = -1;
  size_t at = r.out.rfind("sent ");
  while (at != std::string::npos && at != 0 && r.out[at - 1] != '\n')
    at = at == 0 ? std::string::npos : r.out.rfind("sent ", at - 1);
  if (r.status != 0 || at == std::string::npos ||
      std::sscanf(r.out.c_str() + at, "sent %ld", &sent) != 1)
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
    // B no longer lingering from a takeback either: each scenario starts from the lab's
    // steady state, not inside the last one's handover (a switch back within the linger is
    // covered by its own fix and unit test: Instance::clients_held_back).
    const VrrpView b = vrrp_view(socket_of(1));
    if (vrrp_state(socket_of(0)) == "MASTER" && b.state == "BACKUP" && !b.lingering &&
        ipvs_mismatch(0).empty())
      return true;
    sleep_s(0.1);
  }
  return false;
}

}  // namespace hd::drill
