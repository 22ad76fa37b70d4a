// SPDX-License-Identifier: GPL-2.0-or-later
// The nftables data plane's programming speed (#18), ours against the nft command loading
// the same rules, in a network namespace of its own (root). 1,000 services x 10 real servers
// (wrr, weights 1..10):
//   program from empty   Reconciler::reconcile over NftablesBackend (one transaction)
//                        vs nft -f of the same script (base_script + change_script)
//   one change           reconcile_some (what a health change costs: its service's chain
//                        rewritten) vs nft -f of that chain's flush + rule
//   restart adoption     NftablesBackend::open (list + parse) and a Reconciler: 0 ops
//                        vs nft list table (the listing alone)
//   drift sweep          dump_services (list + parse + compare every service), nothing to do
// Runs where nf_tables is: this machine, or the VM beside bench/ipvs (run.sh). Prints a
// table; asserts only that the work was right. Median of --reps runs (default 3).
#include <sched.h>
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/log.h"
#include "ipvs/reconciler.h"
#include "nftables/backend.h"
#include "nftables/render.h"

namespace hd::nft {
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
  std::fprintf(stderr, "nft_bench: %s\n", what.c_str());
  std::exit(1);
}

double time_shell(const std::string& cmd) {
  auto t0 = Clock::now();
  must(std::system(cmd.c_str()) == 0, "failed: " + cmd);
  return ms_since(t0);
}

// 10.S1.S2.1:80 wrr with reals 172.16.S1.(S2*10+r):8080, weights 1..10 (bench/ipvs's table,
// with wrr for wlc, which nftables does not have).
ipvs::Table make_table(int services, int reals) {
  ipvs::Table t;
  for (int s = 0; s < services; ++s) {
    ipvs::Service svc;
    std::string a = std::to_string(s / 250) + "." + std::to_string(s % 250);
    svc.key = ipvs::ServiceKey::inet(ipvs::Protocol::tcp, *IpAddress::parse("10." + a + ".1"), 80);
    svc.scheduler = "wrr";
    for (int r = 0; r < reals; ++r) {
      ipvs::Destination d;
      d.key = ipvs::DestKey{*IpAddress::parse("172." + std::to_string(16 + s / 250) + "." +
                                              std::to_string(s % 250) + "." + std::to_string(r + 1)),
                            8080};
      d.weight = r + 1;
      svc.destinations.push_back(d);
    }
    t[svc.key] = svc;
  }
  return t;
}

std::unique_ptr<NftablesBackend> open_backend() {
  auto b = NftablesBackend::open();
  must(b.ok(), b.ok() ? "" : b.error().message);
  return std::move(*b);
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

}  // namespace
}  // namespace hd::nft

int main(int argc, char** argv) {
  using namespace hd::nft;
  int reps = 3, services = 1000, reals = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--reps") reps = std::atoi(argv[i + 1]);
    if (a == "--services") services = std::atoi(argv[i + 1]);
    if (a == "--reals") reals = std::atoi(argv[i + 1]);
  }
  // A namespace of our own: the host's nftables are never touched.
  must(unshare(CLONE_NEWNET) == 0, std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
  hd::log::set_level(hd::log::Level::warning);
  hd::RealClock clock;
  const hd::ipvs::Table table = make_table(services, reals);
  const size_t ops = table.size() * (1 + static_cast<size_t>(reals));
  hd::ipvs::Table changed = table;
  const auto first = table.begin()->first;
  changed.at(first).destinations[0].weight += 100;
  const std::string dir = "/tmp/nft_bench." + std::to_string(getpid());
  must(std::system(("mkdir -p " + dir).c_str()) == 0, "mkdir");
  const std::string whole = dir + "/whole.nft", one = dir + "/one.nft";
  write(whole, base_script() + change_script({}, table));
  write(one, change_script({{first, table.at(first)}}, {{first, changed.at(first)}}));
  const std::string nft = "nft", del = "nft delete table ip hadirector 2>/dev/null; true";

  std::vector<double> program, nft_program, change, nft_change, adopt, nft_list, sweep, listing,
      parsing;
  size_t script_bytes = 0;
  for (int rep = 0; rep < reps; ++rep) {
    time_shell(del);
    auto backend = open_backend();
    hd::ipvs::Reconciler r(*backend, clock);
    auto t0 = Clock::now();
    auto rep1 = r.reconcile(table);
    program.push_back(ms_since(t0));
    must(rep1.ok() && rep1.applied == ops, "programming failed");

    t0 = Clock::now();
    auto rep2 = r.reconcile_some(changed, {first});
    change.push_back(ms_since(t0));
    must(rep2.ok() && rep2.applied == 1, "one change: not exactly one operation");
    must(r.reconcile_some(table, {first}).applied == 1, "change back");

    t0 = Clock::now();
    auto listed = backend->dump_services();
    sweep.push_back(ms_since(t0));
    must(listed.ok() && listed->size() == table.size(), "drift sweep");

    t0 = Clock::now();
    const std::string text = backend->list();
    listing.push_back(ms_since(t0));
    t0 = Clock::now();
    const auto parsed = parse_listing(text);
    parsing.push_back(ms_since(t0));
    must(parsed.services.size() == table.size(), "parse");

    t0 = Clock::now();
    auto fresh = open_backend();
    hd::ipvs::Reconciler adopter(*fresh, clock);
    auto rep3 = adopter.reconcile(table);
    adopt.push_back(ms_since(t0));
    must(rep3.ok() && rep3.planned == 0, "adoption planned operations");

    nft_list.push_back(time_shell(nft + " list table ip hadirector >/dev/null"));
    nft_change.push_back(time_shell(nft + " -f " + one));
    time_shell(del);
    nft_program.push_back(time_shell(nft + " -f " + whole));
    script_bytes = backend->list().size();
  }
  {  // What nft -f loaded is what we program: adopting it is free.
    auto b = open_backend();
    hd::ipvs::Reconciler r(*b, clock);
    must(r.reconcile(table).planned == 0, "nft -f built a different table");
  }
  time_shell(del);
  time_shell("rm -rf " + dir);

  utsname u{};
  uname(&u);
  std::printf("nftables benchmark: %d services x %d real servers = %zu operations; kernel %s; "
              "listing %zu bytes; median of %d\n\n",
              services, reals, ops, u.release, script_bytes, reps);
  struct Row {
    const char *what, *ours_how, *theirs_how;
    double ours, theirs;
  };
  const Row rows[] = {
      {"program from empty", "reconcile (one transaction)", "nft -f (same rules)", median(program),
       median(nft_program)},
      {"one weight change, its service", "reconcile_some (1 chain rewritten)", "nft -f (1 chain)",
       median(change), median(nft_change)},
      {"restart adoption", "open (list+parse) + reconcile, 0 ops", "nft list table", median(adopt),
       median(nft_list)},
      {"drift sweep, nothing to repair", "dump_services (list+parse+compare)", "nft list table",
       median(sweep), median(nft_list)},
  };
  std::printf("%-31s %10s  %-38s %10s  %-20s %s\n", "", "ours (ms)", "how", "nft (ms)", "how",
              "nft/ours");
  for (const auto& r : rows)
    std::printf("%-31s %10.1f  %-38s %10.1f  %-20s %7.2fx\n", r.what, r.ours, r.ours_how, r.theirs,
                r.theirs_how, r.theirs / r.ours);
  std::printf("\nsweep split: the listing through libnftables %.1f ms, parsing it %.1f ms\n",
              median(listing), median(parsing));
  return 0;
}
