// Health-check load benchmark: N TCP and M HTTP targets on loopback, each
// checked every interval by one Checker on Loop::main(), as the daemon runs
// it. The targets are listening sockets in a forked responder process (TCP:
// accept and close; HTTP: a minimal epoll responder answering 200), so the
// checker process's getrusage() is the checker alone -- except the kernel
// work of loopback handshakes that runs in the connecting syscall's context.
//
//   checkers_bench [--tcp 10000] [--http 2000] [--seconds 20] [--interval-ms 1000]
//
// Prints: checks/s, checker CPU per wall second (after a warm-up of one
// interval), peak RSS, lateness (start - scheduled start) and the spread of
// actual start-to-start intervals (p50/p99/max deviation from the interval),
// failures by reason.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--tcp") a.tcp = v;
    else if (k == "--http") a.http = v;
    else if (k == "--seconds") a.seconds = v;
    else if (k == "--interval-ms") a.interval_ms = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

int listener(uint16_t& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    std::exit(1);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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
[[noreturn]] void respond(const std::vector<int>& tcp, const std::vector<int>& http) {
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
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nok\n";
  std::unordered_map<int, std::string> pending;
  epoll_event evs[512];
  for (;;) {
    int n = epoll_wait(ep, evs, 512, -1);
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
        (void)!send(fd, kReply, sizeof kReply - 1, MSG_NOSIGNAL);
      } else if (r < 0 && errno == EAGAIN) {
        continue;
      }
      pending.erase(fd);
      close(fd);  // epoll forgets it
    }
  }
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

}  // namespace

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
  pid_t responder = fork();
  if (responder == 0) respond(tcp_fds, http_fds);
  for (int fd : tcp_fds) close(fd);
  for (int fd : http_fds) close(fd);

  log::set_level(log::Level::warning);  // no per-target "up" lines
  Loop& loop = Loop::main();
  auto interval = milliseconds(args.interval_ms);
  std::vector<Target> targets;
  auto make = [&](std::string id, CheckType type, uint16_t port) {
    Target t;
    t.id = std::move(id);
    t.spec.type = type;
    t.spec.address = *IpAddress::parse("127.0.0.1");
    t.spec.port = port;
    t.spec.interval = interval;
    t.spec.timeout = std::min<Duration>(interval, milliseconds(1000));
    targets.push_back(std::move(t));
  };
  for (int i = 0; i < args.tcp; ++i) make("tcp/" + std::to_string(i), CheckType::tcp, tcp_ports[i]);
  for (int i = 0; i < args.http; ++i)
    make("http/" + std::to_string(i), CheckType::http, http_ports[i]);

  // Actual start-to-start intervals, from the second interval on (all started).
  TimePoint t0 = SteadyClock::now();
  TimePoint measure_from = t0 + interval + milliseconds(500);
  std::unordered_map<std::string, TimePoint> last_start;
  last_start.reserve(targets.size());
  std::vector<double> interval_dev_ms, late_ms;
  interval_dev_ms.reserve(static_cast<size_t>(args.seconds) * targets.size());
  late_ms.reserve(interval_dev_ms.capacity());
  uint64_t measured_starts = 0;

  Checker::Options o;
  o.on_probe_start = [&](const std::string& id, TimePoint due, TimePoint started) {
    auto [it, fresh] = last_start.try_emplace(id, started);
    if (started >= measure_from) {
      ++measured_starts;
      late_ms.push_back(ms(started - due));
      if (!fresh) interval_dev_ms.push_back(std::abs(ms(started - it->second - interval)));
    }
    it->second = started;
  };
  uint64_t changes = 0;
  Checker checker(loop, [&](const Change&) { ++changes; }, o);
  checker.start(targets);

  double cpu_at_measure = 0;
  TimePoint wall_at_measure;
  Timer mark(loop, [&] {
    cpu_at_measure = cpu_seconds();
    wall_at_measure = SteadyClock::now();
  });
  mark.start(measure_from - SteadyClock::now());
  Timer end(loop, [&] { loop.stop(); });
  end.start(std::chrono::seconds(args.seconds));
  loop.run();

  double cpu = cpu_seconds() - cpu_at_measure;
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
  std::printf("targets: %d tcp + %d http, interval %d ms, %d s run (measured over %.1f s)\n",
              args.tcp, args.http, args.interval_ms, args.seconds, wall);
  std::printf("checks/s: %.0f (probes started %llu, overruns %llu, skipped %llu)\n",
              static_cast<double>(measured_starts) / wall,
              static_cast<unsigned long long>(st.probes_started),
              static_cast<unsigned long long>(st.overruns),
              static_cast<unsigned long long>(st.skipped));
  std::printf("checker CPU: %.1f%% of one core (%.3f s CPU per wall second)\n", 100 * cpu / wall,
              cpu / wall);
  std::printf("checker peak RSS: %.1f MiB\n", static_cast<double>(self.ru_maxrss) / 1024.0);
  std::printf("responder CPU (whole run, separate process): %.2f s\n", kid_cpu);
  std::printf("lateness (start - scheduled) ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
              pct(late_ms, 50), pct(late_ms, 99), pct(late_ms, 99.9),
              late_ms.empty() ? 0.0 : late_ms.back());
  std::printf("interval spread |actual - %d ms| ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (n=%zu)\n",
              args.interval_ms, pct(interval_dev_ms, 50), pct(interval_dev_ms, 99),
              pct(interval_dev_ms, 99.9), interval_dev_ms.empty() ? 0.0 : interval_dev_ms.back(),
              interval_dev_ms.size());
  std::printf("state changes reported: %llu (expect %d: every target up once)\n",
              static_cast<unsigned long long>(changes), args.tcp + args.http);
  std::printf("checks run: %llu, failed: %llu, targets down at the end: %llu\n",
              static_cast<unsigned long long>(total_checks),
              static_cast<unsigned long long>(total_failures),
              static_cast<unsigned long long>(down));
  for (auto& [why, n] : last_failures)
    std::printf("  last result %s: %llu targets\n", why.c_str(), static_cast<unsigned long long>(n));
  return 0;
}
