// SPDX-License-Identifier: GPL-2.0-or-later
// IPVS programming speed, ours against ipvsadm, on a real kernel (run.sh
// boots the test VM). 1,000 services x 10 real servers:
//   program from empty   Reconciler::reconcile (dump + plan + batched apply)
//                        vs ipvsadm -R < the same table as a restore file
//   one change           reconcile (dump + plan + 1 op) and reconcile_cached
//                        (plan + 1 op) vs one ipvsadm -e
//   restart adoption     a new backend and Reconciler: dump + plan (0 ops)
//                        vs ipvsadm -Sn (dump and print only)
// Also: the same programming without batching (one round trip per op).
// Prints a table; asserts nothing. Median of --reps runs (default 3).
#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/log.h"
#include "ipvs/diff.h"
#include "ipvs/netlink_backend.h"
#include "ipvs/reconciler.h"

namespace hd::ipvs {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void must(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "ipvs_bench: %s\n", what.c_str());
  std::exit(1);
}

void shell(const std::string& cmd) {
  must(std::system(cmd.c_str()) == 0, "failed: " + cmd);
}

double time_shell(const std::string& cmd) {
  auto t0 = Clock::now();
  shell(cmd);
  return ms_since(t0);
}

// 10.S1.S2.1:80 wlc with reals 172.16.S1.(S2*10+r):8080, weights 1..10.
Table make_table(int services, int reals) {
  Table t;
  for (int s = 0; s < services; ++s) {
    Service svc;
    std::string a = std::to_string(s / 250) + "." + std::to_string(s % 250);
    svc.key = ServiceKey::inet(Protocol::tcp, *IpAddress::parse("10." + a + ".1"), 80);
    svc.scheduler = "wlc";
    for (int r = 0; r < reals; ++r) {
      Destination d;
      d.key = DestKey{*IpAddress::parse("172." + std::to_string(16 + s / 250) + "." +
                                        std::to_string(s % 250) + "." + std::to_string(r + 1)),
                      8080};
      d.weight = r + 1;
      svc.destinations.push_back(d);
    }
    t[svc.key] = svc;
  }
  return t;
}

void write_restore_file(const Table& t, const std::string& path) {
  std::ofstream out(path);
  for (const auto& [key, svc] : t) {
    std::string k = "-t " + key.address().str() + ":" + std::to_string(key.port());
    out << "-A " << k << " -s " << svc.scheduler << "\n";
    for (const auto& d : svc.destinations)
      out << "-a " << k << " -r " << d.key.str() << " -m -w " << d.weight << "\n";
  }
}

// One netlink round trip per operation: what the batching saves.
class Unbatched final : public Backend {
 public:
  explicit Unbatched(Backend& b) : b_(b) {}
  Result<void> apply(const Operation& op) override { return b_.apply(op); }
  Result<Table> dump() override { return b_.dump(); }
  Result<void> set_timeouts(const Timeouts& t) override { return b_.set_timeouts(t); }
  Result<void> start_sync_daemon(const SyncDaemon& d) override { return b_.start_sync_daemon(d); }
  Result<void> stop_sync_daemon(SyncState s) override { return b_.stop_sync_daemon(s); }

 private:
  Backend& b_;
};

std::unique_ptr<NetlinkBackend> open_backend() {
  auto b = NetlinkBackend::open();
  must(b.ok(), b.ok() ? "" : b.error().message);
  return std::move(*b);
}

// CPU seconds (user, system) of this process or of its waited-for children so far.
struct Cpu {
  double user = 0, sys = 0;
};
Cpu cpu_of(int who) {
  rusage ru{};
  getrusage(who, &ru);
  auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return {s(ru.ru_utime), s(ru.ru_stime)};
}
Cpu operator-(Cpu a, Cpu b) { return {a.user - b.user, a.sys - b.sys}; }

struct Row {
  std::string what, ours_how, theirs_how;
  double ours, theirs;
};

}  // namespace
}  // namespace hd::ipvs

int main(int argc, char** argv) {
  using namespace hd::ipvs;
  int reps = 3, services = 1000, reals = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--reps") reps = std::atoi(argv[i + 1]);
    if (a == "--services") services = std::atoi(argv[i + 1]);
    if (a == "--reals") reals = std::atoi(argv[i + 1]);
  }
  hd::log::set_level(hd::log::Level::warning);
  hd::RealClock clock;
  Table table = make_table(services, reals);
  size_t ops = table.size() * (1 + static_cast<size_t>(reals));
  const std::string restore = "/tmp/ipvs_bench.restore";
  write_restore_file(table, restore);
  Table changed = table;
  changed.begin()->second.destinations[0].weight += 100;
  const auto& first = *table.begin();
  std::string edit_cmd = "ipvsadm -e -t " + first.first.address().str() + ":80 -r " +
                         first.second.destinations[0].key.str() + " -m -w 101";

  std::vector<double> program, program_serial, ipvsadm_restore, change, change_cached, ipvsadm_edit,
      adopt, adopt_dump, adopt_plan, ipvsadm_save, change_scoped;
  // Where programming from empty spends its time: our process's user and system CPU (the
  // kernel handles a generic netlink request inside the sender's sendmsg(), so its work on
  // our requests is our system time), and ipvsadm -R's, from the first repetition.
  Cpu ours_cpu, theirs_cpu;
  for (int rep = 0; rep < reps; ++rep) {
    // Program from empty, batched.
    shell("ipvsadm -C");
    auto backend = open_backend();
    Reconciler r(*backend, clock);
    auto t0 = Clock::now();
    const Cpu c0 = cpu_of(RUSAGE_SELF);
    Report rep1 = r.reconcile(table);
    program.push_back(ms_since(t0));
    if (rep == 0) ours_cpu = cpu_of(RUSAGE_SELF) - c0;
    must(rep1.ok() && rep1.applied == ops, "programming failed");

    // One change: with a dump, then from the cached view.
    t0 = Clock::now();
    Report rep2 = r.reconcile(changed);
    change.push_back(ms_since(t0));
    must(rep2.ok() && rep2.applied == 1, "one change: not exactly one operation");
    t0 = Clock::now();
    Report rep3 = r.reconcile_cached(table);
    change_cached.push_back(ms_since(t0));
    must(rep3.ok() && rep3.applied == 1, "cached change: not exactly one operation");
    // What the daemon does for a health change: plan the changed service alone.
    t0 = Clock::now();
    Report rep3b = r.reconcile_some(changed, {first.first});
    change_scoped.push_back(ms_since(t0));
    must(rep3b.ok() && rep3b.applied == 1, "scoped change: not exactly one operation");
    must(r.reconcile_some(table, {first.first}).applied == 1, "scoped change back");

    // Restart adoption: a new socket and reconciler find nothing to do.
    auto fresh = open_backend();
    t0 = Clock::now();
    Reconciler adopter(*fresh, clock);
    Report rep4 = adopter.reconcile(table);
    adopt.push_back(ms_since(t0));
    must(rep4.ok() && rep4.planned == 0, "adoption planned operations");
    t0 = Clock::now();
    auto dumped = fresh->dump();
    adopt_dump.push_back(ms_since(t0));
    must(dumped.ok(), "dump failed");
    t0 = Clock::now();
    Plan p = plan(table, *dumped, {});
    adopt_plan.push_back(ms_since(t0));
    must(p.ops.empty(), "plan not empty");

    ipvsadm_save.push_back(time_shell("ipvsadm -Sn >/dev/null"));
    ipvsadm_edit.push_back(time_shell(edit_cmd));

    // Program from empty, one round trip per operation.
    shell("ipvsadm -C");
    Unbatched serial(*backend);
    Reconciler rs(serial, clock);
    t0 = Clock::now();
    Report rep5 = rs.reconcile(table);
    program_serial.push_back(ms_since(t0));
    must(rep5.ok() && rep5.applied == ops, "unbatched programming failed");

    shell("ipvsadm -C");
    const Cpu k0 = cpu_of(RUSAGE_CHILDREN);
    ipvsadm_restore.push_back(time_shell("ipvsadm -R < " + restore));
    if (rep == 0) theirs_cpu = cpu_of(RUSAGE_CHILDREN) - k0;  // the shell's share is tiny
  }
  // The table ipvsadm restored is the one we program: adopting it is free.
  {
    auto b = open_backend();
    Reconciler r(*b, clock);
    Report rep = r.reconcile(table);
    must(rep.ok() && rep.planned == 0, "ipvsadm -R built a different table");
  }
  shell("ipvsadm -C");

  utsname u{};
  uname(&u);
  std::printf(
      "IPVS benchmark: %d services x %d real servers = %zu operations; kernel %s; "
      "median of %d\n\n",
      services, reals, ops, u.release, reps);
  std::vector<Row> rows = {
      {"program from empty", "reconcile (dump+plan+apply, batched)", "ipvsadm -R < file",
       median(program), median(ipvsadm_restore)},
      {"program from empty, unbatched", "reconcile, 1 round trip per op", "ipvsadm -R < file",
       median(program_serial), median(ipvsadm_restore)},
      {"one weight change", "reconcile (dump+plan+1 op)", "ipvsadm -e (1 process)", median(change),
       median(ipvsadm_edit)},
      {"one weight change, cached", "reconcile_cached (plan+1 op)", "ipvsadm -e (1 process)",
       median(change_cached), median(ipvsadm_edit)},
      {"one weight change, its service", "reconcile_some (1 service, 1 op)", "ipvsadm -e (1 process)",
       median(change_scoped), median(ipvsadm_edit)},
      {"restart adoption", "new Reconciler: dump+plan, 0 ops", "ipvsadm -Sn (dump only)",
       median(adopt), median(ipvsadm_save)},
  };
  std::printf("%-31s %11s  %-38s %11s  %-24s %s\n", "", "ours (ms)", "how", "ipvsadm (ms)", "how",
              "ipvsadm/ours");
  for (const auto& r : rows)
    std::printf("%-31s %11.1f  %-38s %11.1f  %-24s %8.2fx\n", r.what.c_str(), r.ours,
                r.ours_how.c_str(), r.theirs, r.theirs_how.c_str(), r.theirs / r.ours);
  std::printf(
      "\nadoption split: dump %.1f ms (%zu services, one destination dump each), "
      "plan %.2f ms\n",
      median(adopt_dump), table.size(), median(adopt_plan));
  std::printf(
      "program from empty, CPU (first repetition): ours user %.0f ms + system %.0f ms; "
      "ipvsadm -R user %.0f ms + system %.0f ms\n",
      ours_cpu.user * 1e3, ours_cpu.sys * 1e3, theirs_cpu.user * 1e3, theirs_cpu.sys * 1e3);
  return 0;
}
