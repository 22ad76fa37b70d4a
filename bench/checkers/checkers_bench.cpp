// SPDX-License-Identifier: GPL-2.0-or-later
// Health-check load benchmark: N TCP and M HTTP targets on loopback, each
// checked every interval by one Checker on Loop::main(), as the daemon runs
// it. The targets are listening sockets in a forked responder process (TCP:
// accept and close; HTTP: a minimal epoll responder answering 200), so the
// checker process's getrusage() is the checker alone -- except the kernel
// work of loopback handshakes, which runs in the connecting syscall's
// context: the server half of every handshake (SYN -> SYN-ACK, the child
// socket, the RST) is charged to the checker here, as it would not be
// against real servers. The responder polls rather than sleeps in
// epoll_wait, so at least its wake-ups are not charged to the checker too.
//
//   checkers_bench [--tcp 10000] [--http 2000] [--seconds 20] [--interval-ms 1000]
//                  [--tcp-probe syn|connect]   (syn: half-open, the daemon's default)
//                  [--batch-ms 5]   (timer batching of the loop, as the daemon's)
//                  [--keepalive 1]  (HTTP checks keep their connection: keepalive = true)
//                  [--daemon PATH/hadirector]   (check with the daemon itself, see below)
//
// --daemon: the same targets go into a config (dataplane = "none") and `hadirector run`
// checks them; the numbers are the daemon process's (/proc/PID/stat: CPU of all its
// threads, VmHWM: peak RSS; lateness from its `status --json`), so nothing of the bench's
// own bookkeeping is in them.
//
// Prints: checks/s, checker CPU per wall second (after a warm-up of one
// interval), peak RSS, lateness (start - scheduled start) and the spread of
// actual start-to-start intervals (p50/p99/max deviation from the interval),
// failures by reason.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "checkers/checker.h"
#include "checkers/tcp_segment.h"
#include "core/checksum.h"
#include "core/log.h"
#include "core/loop.h"

namespace {

using namespace hd;
using namespace hd::checkers;
using std::chrono::milliseconds;

struct Args {
  int tcp = 10000;
  int http = 2000;
  int seconds = 20;
  int interval_ms = 1000;
  bool syn = true;   // TCP checks as half-open probes (the daemon's default)
  int batch_ms = 5;  // the main loop's timer batching, as `hadirector run` sets it
  bool keepalive = false;  // HTTP checks with keepalive = true; the responder keeps them open
  bool raw = false;  // the floor: same connects from a bare epoll loop, no checker
  // Remote targets (bench/checkers/remote.sh sets this up): the responder enters network
  // namespace `target_ns` and listens on `target_addr`, ports from 20000, pinned to CPU 1;
  // the checker is pinned to CPU 0. With RPS steering both veth ends' receive work to CPU 1,
  // the server half of each handshake no longer runs in the checker's syscalls, as with real
  // servers on other hosts.
  std::string target_ns;
  std::string target_addr = "127.0.0.1";
  // Targets behind a TUN device (bench/checkers/tun.sh): the responder, pinned to CPU 1,
  // busy-polls the device and answers every SYN itself (SYN-ACK on the target ports, RST
  // elsewhere), as a remote host's stack would. The checker, pinned to CPU 0, pays for its
  // own syscalls and its kernel's send path; no server work and no IPI runs in its context.
  std::string tun;
  std::string daemon;  // a hadirector binary: measure `hadirector run` on these targets
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--target-ns") {
      a.target_ns = argv[i + 1];
      continue;
    }
    if (k == "--tcp-probe") {
      std::string v = argv[i + 1];
      if (v != "syn" && v != "connect") {
        std::fprintf(stderr, "--tcp-probe: syn or connect\n");
        std::exit(2);
      }
      a.syn = v == "syn";
      continue;
    }
    if (k == "--tun") {
      a.tun = argv[i + 1];
      continue;
    }
    if (k == "--target-addr") {
      a.target_addr = argv[i + 1];
      continue;
    }
    if (k == "--daemon") {
      a.daemon = argv[i + 1];
      continue;
    }
    int v = std::atoi(argv[i + 1]);
    if (k == "--tcp")
      a.tcp = v;
    else if (k == "--http")
      a.http = v;
    else if (k == "--seconds")
      a.seconds = v;
    else if (k == "--interval-ms")
      a.interval_ms = v;
    else if (k == "--batch-ms")
      a.batch_ms = v;
    else if (k == "--keepalive")
      a.keepalive = v != 0;
    else if (k == "--raw")
      a.raw = v != 0;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

std::string g_listen_addr = "127.0.0.1";
uint16_t g_next_port = 0;  // 0: ephemeral ports (loopback mode)

int listener(uint16_t& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    std::exit(1);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, g_listen_addr.c_str(), &a.sin_addr);
  if (g_next_port) a.sin_port = htons(g_next_port++);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 256) != 0) {
    std::perror("bind/listen");
    std::exit(1);
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// The responder: epoll over every listener. Tags in epoll data: 0 TCP
// listener, 1 HTTP listener, 2 HTTP connection.
[[noreturn]] void respond(const std::vector<int>& tcp, const std::vector<int>& http,
                          bool keepalive) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  auto add = [&](int fd, uint32_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = (uint64_t{tag} << 32) | static_cast<uint32_t>(fd);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  };
  for (int fd : tcp) add(fd, 0);
  for (int fd : http) add(fd, 1);
  static const char kReply[] =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\nConnection: "
      "close\r\n\r\nok\n";
  static const char kKeepReply[] =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n";
  std::unordered_map<int, std::string> pending;
  epoll_event evs[512];
  for (;;) {
    // Poll, then nap: with nobody asleep on the epoll wait queue, a connect
    // from the checker does not wake this process from inside its own
    // syscall (on loopback that wake-up, a remote server's business, would
    // be charged to the checker). Costs the HTTP answers up to 2 ms.
    int n = epoll_wait(ep, evs, 512, 0);
    if (n < 512) usleep(2000);
    for (int i = 0; i < n; ++i) {
      uint32_t tag = static_cast<uint32_t>(evs[i].data.u64 >> 32);
      int fd = static_cast<int>(evs[i].data.u64 & 0xffffffff);
      if (tag == 0 || tag == 1) {
        for (;;) {
          int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          if (tag == 0) {
            close(c);
          } else {
            pending[c].clear();
            add(c, 2);
          }
        }
        continue;
      }
      char buf[4096];
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        auto& got = pending[fd];
        got.append(buf, static_cast<size_t>(r));
        if (got.find("\r\n\r\n") == std::string::npos) continue;
        if (keepalive) {  // answer, and wait for the next request on this connection
          got.clear();
          (void)!send(fd, kKeepReply, sizeof kKeepReply - 1, MSG_NOSIGNAL);
          continue;
        }
        (void)!send(fd, kReply, sizeof kReply - 1, MSG_NOSIGNAL);
      } else if (r < 0 && errno == EAGAIN) {
        continue;
      }
      pending.erase(fd);
      close(fd);  // epoll forgets it
    }
  }
}

// The TUN responder: a stateless remote TCP stack for the handshake. Reads IPv4
// packets without ever sleeping; answers a SYN to [first, first + count) with a
// SYN-ACK, any other SYN with an RST; ignores the rest (ACKs, RSTs).
[[noreturn]] void tun_respond(const std::string& dev, uint16_t first, uint16_t count) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
    std::perror("tun");
    _exit(1);
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  uint8_t in[2048], out[40];
  uint32_t isn = 0x10000;
  for (;;) {
    ssize_t n = read(fd, in, sizeof in);
    if (n < 40 || (in[0] >> 4) != 4 || in[9] != 6) continue;
    size_t ihl = size_t(in[0] & 15) * 4;
    if (size_t(n) < ihl + 20) continue;
    const uint8_t* t = in + ihl;
    uint8_t flags = t[13];
    if ((flags & (tcp_flags::syn | tcp_flags::ack | tcp_flags::rst)) != tcp_flags::syn) continue;
    uint16_t dport = uint16_t(t[2] << 8 | t[3]);
    bool open_port = dport >= first && dport < first + count;
    std::memset(out, 0, sizeof out);
    out[0] = 0x45;
    out[3] = 40;
    out[6] = 0x40;  // DF
    out[8] = 64;
    out[9] = 6;
    std::memcpy(out + 12, in + 16, 4);  // swap addresses
    std::memcpy(out + 16, in + 12, 4);
    uint16_t c = internet_checksum(std::span<const uint8_t>(out, 20));
    out[10] = uint8_t(c >> 8), out[11] = uint8_t(c);
    uint8_t* r = out + 20;
    std::memcpy(r, t + 2, 2);  // swap ports
    std::memcpy(r + 2, t, 2);
    uint32_t ack = (uint32_t(t[4]) << 24 | uint32_t(t[5]) << 16 | uint32_t(t[6]) << 8 | t[7]) + 1;
    isn += 64000;
    uint32_t seq = open_port ? isn : 0;
    for (int i = 0; i < 4; ++i) r[4 + i] = uint8_t(seq >> (24 - 8 * i)), r[8 + i] = uint8_t(ack >> (24 - 8 * i));
    r[12] = 5 << 4;
    r[13] = open_port ? (tcp_flags::syn | tcp_flags::ack) : (tcp_flags::rst | tcp_flags::ack);
    r[14] = 0xff, r[15] = 0xff;
    auto src = *IpAddress::from_bytes(Family::v4, std::span<const uint8_t>(out + 12, 4));
    auto dst = *IpAddress::from_bytes(Family::v4, std::span<const uint8_t>(out + 16, 4));
    c = pseudo_header_checksum(src, dst, IPPROTO_TCP, std::span<const uint8_t>(r, 20));
    r[16] = uint8_t(c >> 8), r[17] = uint8_t(c);
    (void)!write(fd, out, sizeof out);
  }
}

struct Cpu {
  double user = 0, sys = 0;
};
Cpu cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6,
          static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6};
}

double ms(Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

// The floor for TCP checks: the same syscalls (socket, connect, epoll_ctl,
// epoll_wait, getsockopt, SO_LINGER 0, close) at the same rate, evenly
// spaced, from a bare epoll loop. Returns CPU seconds used between from and to.
Cpu raw_floor(const std::vector<uint16_t>& ports, Duration interval, TimePoint from, TimePoint to,
              uint64_t& connects) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  Duration period = interval / static_cast<int64_t>(ports.size());
  TimePoint next_due = SteadyClock::now();
  size_t next = 0;
  Cpu at_from{};
  bool measuring = false;
  epoll_event evs[512];
  for (;;) {
    TimePoint now = SteadyClock::now();
    if (!measuring && now >= from) {
      at_from = cpu_seconds();
      measuring = true;
    }
    if (now >= to) break;
    while (next_due <= now) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      inet_pton(AF_INET, g_listen_addr.c_str(), &a.sin_addr);
      a.sin_port = htons(ports[next++ % ports.size()]);
      connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.fd = fd;
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      next_due += period;
      if (measuring) ++connects;
    }
    auto wait = std::chrono::duration_cast<milliseconds>(next_due - now).count() + 1;
    int n = epoll_wait(ep, evs, 512, static_cast<int>(wait));
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd, err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      linger l{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      close(fd);
    }
  }
  Cpu end = cpu_seconds();
  close(ep);
  return {end.user - at_from.user, end.sys - at_from.sys};
}

}  // namespace

// The daemon's own figures: all its threads' CPU (utime + stime in /proc/PID/stat).
double proc_cpu_seconds(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) return 0;
  char buf[2048];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  if (!p) return 0;
  // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2)
    return 0;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string proc_status_field(pid_t pid, const char* key) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (!f) return "?";
  char line[256];
  std::string out = "?";
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, key, std::strlen(key)) == 0) {
      out = line + std::strlen(key);
      out.erase(0, out.find_first_not_of(" \t"));
      out.erase(out.find_last_not_of(" \n") + 1);
    }
  std::fclose(f);
  return out;
}

std::string command_output(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// A number after "KEY": in the status JSON (the bench reads, it does not parse).
double json_number(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::atof(json.c_str() + at + key.size() + 3);
}

int run_daemon(const Args& args, const std::vector<uint16_t>& tcp_ports,
               const std::vector<uint16_t>& http_ports, pid_t responder) {
  char tmpl[] = "/tmp/hd-checkbench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string sock = dir + "/c.sock", cfg = dir + "/c.toml";
  {
    FILE* f = std::fopen(cfg.c_str(), "w");
    std::fprintf(f, "[global]\ncontrol_socket = \"%s\"\ndataplane = \"none\"\nlog_level = \"warning\"\n",
                 sock.c_str());
    int n = 0;
    int timeout_ms = std::min(args.interval_ms, 1000);
    auto real = [&](uint16_t port, const char* check) {
      if (n % 1000 == 0)
        std::fprintf(f, "\n[[virtual_server]]\naddress = \"127.1.%d.1\"\nport = 80\n", n / 1000);
      std::fprintf(f,
                   "  [[virtual_server.real_server]]\n  address = \"%s\"\n  port = %u\n"
                   "  check = { %s, interval = \"%dms\", timeout = \"%dms\" }\n",
                   args.target_addr.c_str(), port, check, args.interval_ms, timeout_ms);
      ++n;
    };
    for (uint16_t p : tcp_ports)
      real(p, args.syn ? "type = \"tcp\", probe = \"syn\"" : "type = \"tcp\", probe = \"connect\"");
    for (uint16_t p : http_ports)
      real(p, args.keepalive ? "type = \"http\", path = \"/\", keepalive = true"
                             : "type = \"http\", path = \"/\"");
    std::fclose(f);
  }
  pid_t d = fork();
  if (d == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(args.daemon.c_str(), args.daemon.c_str(), "run", "-c", cfg.c_str(), nullptr);
    _exit(127);
  }
  std::string status_cmd = args.daemon + " status --json --socket " + sock + " 2>/dev/null";
  // Ready when every target has had its first result (their first starts are spread over
  // one interval), then one more interval of warm-up.
  int total = args.tcp + args.http;
  auto t_start = SteadyClock::now();
  std::string st;
  for (;;) {
    usleep(200000);
    st = command_output(status_cmd);
    double up = json_number(st, "up"), down = json_number(st, "down");
    if (up >= 0 && up + down >= total && st.find("\"last_result\":null") == std::string::npos &&
        st.find("\"last_result\": null") == std::string::npos)
      break;
    if (waitpid(d, nullptr, WNOHANG) == d) {
      std::fprintf(stderr, "the daemon exited; config in %s\n", cfg.c_str());
      return 1;
    }
    if (SteadyClock::now() - t_start > std::chrono::seconds(60)) {
      std::fprintf(stderr, "the daemon's checks did not all run within 60 s\n");
      kill(d, SIGKILL);
      return 1;
    }
  }
  usleep(static_cast<useconds_t>(args.interval_ms) * 1000);
  double cpu0 = proc_cpu_seconds(d);
  auto w0 = SteadyClock::now();
  sleep(static_cast<unsigned>(args.seconds));
  double cpu1 = proc_cpu_seconds(d);
  double wall = std::chrono::duration<double>(SteadyClock::now() - w0).count();
  st = command_output(status_cmd);
  std::string hwm = proc_status_field(d, "VmHWM:");
  kill(d, SIGTERM);
  waitpid(d, nullptr, 0);
  kill(responder, SIGKILL);
  waitpid(responder, nullptr, 0);
  std::printf("hadirector run: %d tcp (%s) + %d http targets, interval %d ms, measured over %.1f s\n",
              args.tcp, args.syn ? "half-open syn probes" : "full connects", args.http,
              args.interval_ms, wall);
  std::printf("daemon CPU: %.1f%% of one core (all threads, /proc/PID/stat)\n",
              100 * (cpu1 - cpu0) / wall);
  std::printf("daemon peak RSS: %s\n", hwm.c_str());
  std::printf("targets up %.0f, down %.0f; probes %.0f, overruns %.0f, skipped %.0f\n",
              json_number(st, "up"), json_number(st, "down"), json_number(st, "probes"),
              json_number(st, "overruns"), json_number(st, "skipped"));
  std::printf("lateness (start - scheduled) ms, whole run: p50 %.3f  p99 %.3f  max %.3f\n",
              json_number(st, "late_p50_ms"), json_number(st, "late_p99_ms"),
              json_number(st, "late_max_ms"));
  std::remove(cfg.c_str());
  rmdir(dir.c_str());
  return 0;
}

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  rlim_t need = static_cast<rlim_t>(args.tcp + args.http) + 2048;
  if (rl.rlim_cur < need) {
    std::fprintf(stderr, "RLIMIT_NOFILE %llu too low for %llu targets (raise the hard limit)\n",
                 static_cast<unsigned long long>(rl.rlim_cur),
                 static_cast<unsigned long long>(need));
    return 1;
  }

  std::vector<int> tcp_fds, http_fds;
  std::vector<uint16_t> tcp_ports, http_ports;
  auto make_listeners = [&] {
    for (int i = 0; i < args.tcp; ++i) {
      uint16_t p;
      tcp_fds.push_back(listener(p));
      tcp_ports.push_back(p);
    }
    for (int i = 0; i < args.http; ++i) {
      uint16_t p;
      http_fds.push_back(listener(p));
      http_ports.push_back(p);
    }
  };
  pid_t responder;
  if (!args.tun.empty()) {
    if (args.http) {
      std::fprintf(stderr, "--tun: tcp targets only (--http 0)\n");
      return 2;
    }
    g_listen_addr = args.target_addr;  // where --raw connects
    for (int i = 0; i < args.tcp; ++i) tcp_ports.push_back(static_cast<uint16_t>(20000 + i));
    responder = fork();
    if (responder == 0) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(1, &one);
      sched_setaffinity(0, sizeof one, &one);
      tun_respond(args.tun, 20000, static_cast<uint16_t>(args.tcp));
    }
    cpu_set_t zero;
    CPU_ZERO(&zero);
    CPU_SET(0, &zero);
    sched_setaffinity(0, sizeof zero, &zero);
    usleep(200000);
  } else if (args.target_ns.empty()) {
    make_listeners();
    responder = fork();
    if (responder == 0) respond(tcp_fds, http_fds, args.keepalive);
  } else {
    // Fixed ports, so the parent knows them without the child's sockets.
    g_listen_addr = args.target_addr;
    for (int i = 0; i < args.tcp; ++i) tcp_ports.push_back(static_cast<uint16_t>(20000 + i));
    for (int i = 0; i < args.http; ++i)
      http_ports.push_back(static_cast<uint16_t>(20000 + args.tcp + i));
    responder = fork();
    if (responder == 0) {
      int nsfd = open(("/var/run/netns/" + args.target_ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
        std::perror("setns");
        _exit(1);
      }
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(1, &one);
      sched_setaffinity(0, sizeof one, &one);
      g_next_port = 20000;
      make_listeners();
      respond(tcp_fds, http_fds, args.keepalive);
    }
    cpu_set_t zero;
    CPU_ZERO(&zero);
    CPU_SET(0, &zero);
    sched_setaffinity(0, sizeof zero, &zero);
    sleep(1);  // the responder binds 12,000 sockets
  }
  for (int fd : tcp_fds) close(fd);
  for (int fd : http_fds) close(fd);
  if (!args.daemon.empty()) return run_daemon(args, tcp_ports, http_ports, responder);

  if (args.raw) {
    TimePoint start = SteadyClock::now();
    auto interval = milliseconds(args.interval_ms);
    TimePoint from = start + interval + milliseconds(500),
              to = start + std::chrono::seconds(args.seconds);
    uint64_t connects = 0;
    Cpu c = raw_floor(tcp_ports, interval, from, to, connects);
    kill(responder, SIGKILL);
    waitpid(responder, nullptr, 0);
    double wall = std::chrono::duration<double>(to - from).count();
    std::printf(
        "raw floor: %d tcp targets, %.0f connects/s, CPU %.1f%% of one core (user %.3f, sys %.3f "
        "per wall second)\n",
        args.tcp, static_cast<double>(connects) / wall, 100 * (c.user + c.sys) / wall,
        c.user / wall, c.sys / wall);
    return 0;
  }

  log::set_level(log::Level::warning);  // no per-target "up" lines
  Loop& loop = Loop::main();
  auto interval = milliseconds(args.interval_ms);
  std::vector<Target> targets;
  auto make = [&](std::string id, CheckType type, uint16_t port) {
    Target t;
    t.id = std::move(id);
    t.spec.type = type;
    t.spec.address = *IpAddress::parse(args.target_addr);
    t.spec.port = port;
    t.spec.half_open = type == CheckType::tcp && args.syn;
    t.spec.keepalive = type == CheckType::http && args.keepalive;
    t.spec.interval = interval;
    t.spec.timeout = std::min<Duration>(interval, milliseconds(1000));
    targets.push_back(std::move(t));
  };
  // Ids are "<index>/tcp" so the start hook finds a target's slot by strtol,
  // not by hashing: the bench's bookkeeping stays out of the checker's CPU.
  for (int i = 0; i < args.tcp; ++i) make(std::to_string(i) + "/tcp", CheckType::tcp, tcp_ports[i]);
  for (int i = 0; i < args.http; ++i)
    make(std::to_string(args.tcp + i) + "/http", CheckType::http, http_ports[i]);

  // Actual start-to-start intervals, from the second interval on (all started).
  TimePoint t0 = SteadyClock::now();
  TimePoint measure_from = t0 + interval + milliseconds(500);
  std::vector<TimePoint> last_start(targets.size());
  std::vector<double> interval_dev_ms, late_ms;
  interval_dev_ms.reserve(static_cast<size_t>(args.seconds) * targets.size());
  late_ms.reserve(interval_dev_ms.capacity());
  uint64_t measured_starts = 0;
  std::vector<double> worst_per_second(static_cast<size_t>(args.seconds) + 2, 0.0);

  Checker::Options o;
  o.on_probe_start = [&](const std::string& id, TimePoint due, TimePoint started) {
    TimePoint& last = last_start[std::strtoul(id.c_str(), nullptr, 10)];
    if (started >= measure_from) {
      ++measured_starts;
      late_ms.push_back(ms(started - due));
      size_t sec = static_cast<size_t>(
          std::chrono::duration_cast<std::chrono::seconds>(started - t0).count());
      if (sec < worst_per_second.size())
        worst_per_second[sec] = std::max(worst_per_second[sec], late_ms.back());
      if (last >= measure_from) interval_dev_ms.push_back(std::abs(ms(started - last - interval)));
    }
    last = started;
  };
  uint64_t changes = 0;
  std::map<std::string, uint64_t> down_reasons;  // every transition to down, by reason
  loop.set_timer_batching(milliseconds(args.batch_ms));
  Checker checker(
      loop,
      [&](const Change& c) {
        ++changes;
        if (!c.up) ++down_reasons[c.reason];
      },
      o);
  checker.start(targets);

  // Loop turns: the longest stretch between two polls (time spent handling
  // events, timers and callbacks in one turn), and the longest poll.
  struct Turns {
    TimePoint after_poll{}, before_poll{};
    Duration max_busy{}, max_poll{};
    uint64_t n = 0;
  } turns;
  ev_prepare prep;
  ev_check chk;
  ev_prepare_init(&prep, [](struct ev_loop*, ev_prepare* w, int) {
    auto* t = static_cast<Turns*>(w->data);
    t->before_poll = SteadyClock::now();
    if (t->after_poll != TimePoint{})
      t->max_busy = std::max(t->max_busy, t->before_poll - t->after_poll);
  });
  ev_check_init(&chk, [](struct ev_loop*, ev_check* w, int) {
    auto* t = static_cast<Turns*>(w->data);
    t->after_poll = SteadyClock::now();
    t->max_poll = std::max(t->max_poll, t->after_poll - t->before_poll);
    ++t->n;
  });
  prep.data = chk.data = &turns;
  ev_prepare_start(loop.raw(), &prep);
  ev_check_start(loop.raw(), &chk);
  ev_unref(loop.raw());
  ev_unref(loop.raw());

  Cpu cpu_at_measure;
  TimePoint wall_at_measure;
  Timer mark(loop, [&] {
    cpu_at_measure = cpu_seconds();
    wall_at_measure = SteadyClock::now();
    turns.max_busy = turns.max_poll = Duration::zero();
  });
  mark.start(measure_from - SteadyClock::now());
  Timer end(loop, [&] { loop.stop(); });
  end.start(std::chrono::seconds(args.seconds));
  loop.run();

  Cpu cpu_end = cpu_seconds();
  double user = cpu_end.user - cpu_at_measure.user, sys = cpu_end.sys - cpu_at_measure.sys;
  double cpu = user + sys;
  double wall = std::chrono::duration<double>(SteadyClock::now() - wall_at_measure).count();
  std::map<std::string, uint64_t> last_failures;
  uint64_t total_checks = 0, total_failures = 0, down = 0;
  for (auto& t : targets) {
    const CheckState* s = checker.state(t.id);
    if (!s) continue;
    total_checks += s->checks();
    total_failures += s->failures();
    if (!s->up()) ++down;
    if (s->last_result() && !s->last_result()->ok()) ++last_failures[s->last_result()->to_string()];
  }
  checker.stop();
  kill(responder, SIGKILL);
  waitpid(responder, nullptr, 0);
  rusage self{}, kids{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &kids);

  std::sort(interval_dev_ms.begin(), interval_dev_ms.end());
  std::sort(late_ms.begin(), late_ms.end());
  const SchedulerStats& st = checker.stats();
  double kid_cpu = static_cast<double>(kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) +
                   static_cast<double>(kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e6;
  std::printf(
      "targets: %d tcp (%s) + %d http, interval %d ms, timer batching %d ms, %d s run "
      "(measured over %.1f s)\n",
      args.tcp, args.syn ? "half-open syn probes" : "full connects", args.http, args.interval_ms,
      args.batch_ms, args.seconds, wall);
  std::printf("checks/s: %.0f (probes started %llu, overruns %llu, skipped %llu)\n",
              static_cast<double>(measured_starts) / wall,
              static_cast<unsigned long long>(st.probes_started),
              static_cast<unsigned long long>(st.overruns),
              static_cast<unsigned long long>(st.skipped));
  std::printf("checker CPU: %.1f%% of one core (%.3f s CPU per wall second: user %.3f, sys %.3f)\n",
              100 * cpu / wall, cpu / wall, user / wall, sys / wall);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("context switches: %ld voluntary, %ld involuntary (whole run)\n", ru.ru_nvcsw,
              ru.ru_nivcsw);
  std::printf("loop turns: %llu; longest turn %.3f ms, longest poll %.3f ms (after warm-up)\n",
              static_cast<unsigned long long>(turns.n), ms(turns.max_busy), ms(turns.max_poll));
  std::printf("checker peak RSS: %.1f MiB\n", static_cast<double>(self.ru_maxrss) / 1024.0);
  std::printf("responder CPU (whole run, separate process): %.2f s\n", kid_cpu);
  std::printf("lateness (start - scheduled) ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
              pct(late_ms, 50), pct(late_ms, 99), pct(late_ms, 99.9),
              late_ms.empty() ? 0.0 : late_ms.back());
  std::printf("worst lateness per second of the run, ms:");
  for (double w : worst_per_second) std::printf(" %.0f", w);
  std::printf("\n");
  std::printf(
      "interval spread |actual - %d ms| ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (n=%zu)\n",
      args.interval_ms, pct(interval_dev_ms, 50), pct(interval_dev_ms, 99),
      pct(interval_dev_ms, 99.9), interval_dev_ms.empty() ? 0.0 : interval_dev_ms.back(),
      interval_dev_ms.size());
  std::printf("state changes reported: %llu (expect %d: every target up once)\n",
              static_cast<unsigned long long>(changes), args.tcp + args.http);
  std::printf("checks run: %llu, failed: %llu, targets down at the end: %llu\n",
              static_cast<unsigned long long>(total_checks),
              static_cast<unsigned long long>(total_failures),
              static_cast<unsigned long long>(down));
  for (auto& [why, n] : down_reasons)
    std::printf("  went down (%s): %llu times\n", why.c_str(), static_cast<unsigned long long>(n));
  for (auto& [why, n] : last_failures)
    std::printf("  last result %s: %llu targets\n", why.c_str(),
                static_cast<unsigned long long>(n));
  return 0;
}
