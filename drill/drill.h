// SPDX-License-Identifier: GPL-2.0-or-later
// The drill runner: builds the lab (drill/lab.h), starts two directors running
// hadirector and three real servers, runs client traffic through the VIP, plays
// the scenarios of drill/scenarios.h one after another and measures what users
// felt in each (Result). The scenarios act on the lab only through the public
// operations below.
#pragma once
#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/config/model.h"
#include "drill/lab.h"
#include "drill/observe.h"
#include "drill/params.h"

namespace hd::drill {

struct Scenario;

struct Result {
  std::string name;
  std::string description;
  double outage_s = 0;      // fault -> VIP answering again (0: no failed request)
  double after_heal_s = 0;  // heal -> VIP answering again (0: answering at the heal)
  int requests = 0, failed = 0, slow = 0;
  // Long-lived connection slots; those whose real server the scenario broke on purpose are
  // counted apart: their connections end by design, not by a fault of the directors.
  int long_total = 0, long_broken = 0, long_on_failed_server = 0;
  int max_masters = 0;  // among samples that count (after the heal where a split is by design)
  int samples = 0;
  std::string ipvs_table;  // the Master's, at the end of the measurement
  bool passed = true;
  std::vector<std::string> violations;
  std::map<std::string, int> served_by;  // real server -> ok requests in the window
  double failing_after = 0;  // last failed request's start, seconds after the fault
  // The first few failures, "+0.14s new: connect timeout" (seconds from the fault), so a
  // report says what broke, not only how much.
  std::vector<std::string> failures;
  // How long the act itself took (a command in the lab: under a loaded emulator, a share of
  // the outage that no daemon can shorten), and the directors' VI_1 states as sampled, each
  // change "+0.41s A FAULT B MASTER": a failed budget says where its time went.
  double act_s = 0;
  double act_allowance_s = 0;  // act_s where the act is a lab command (Scenario), else 0
  std::vector<std::string> timeline;
  Budget budget;
};

// A soak (--soak): what was injected, and every breach of the invariants, with its time.
struct SoakReport {
  bool on = false;
  uint64_t seed = 0;
  double duration_s = 0;
  std::map<std::string, int> faults;  // scenario -> times played
  std::vector<std::string> breaches;
  int table_checks = 0;  // times both kernel tables were compared with the desired one
  long fds_before = -1, fds_after = -1;      // director B's open descriptors
  long rss_kb_before = -1, rss_kb_after = -1;  // and resident memory
};

class Drill {
 public:
  Drill(Options o, LabParams p, std::map<std::string, Budget> b);
  int run();

  // What scenarios do to the lab.
  const Lab& lab() const { return lab_; }
  const LabParams& params() const { return p_; }
  void start_director(int i);
  // nftables: conntrackd on director i, syncing conntrack with the other over the back link
  // (its config written beside the director's); stopped with the lab.
  void start_conntrackd(int i);
  void stop_conntrackd(int i);
  void stop_director(int i, int sig);
  void start_real(int i);
  void stop_real(int i);
  void set_director_links(int i, bool up);
  void set_real_failing(int i, bool failing);  // real server i answers 500
  void set_weights(std::array<int, 3> w);      // both directors: config rewritten, SIGHUP
  // Director i's authenticated VRRP ([global.vrrp_auth]; nullopt: off): its config rewritten
  // and reloaded over the control socket, waiting for the answer (throws unless "ok").
  void set_auth(int i, std::optional<config::AuthSection> auth);
  std::array<int, 3> weights() const { return weights_; }
  void set_partition(bool on);                 // VRRP dropped between the directors
  void signal_director(int i, int sig);        // SIGSTOP / SIGCONT: a frozen director
  // A `hadirector ctl` command line to director i's control socket; returns the JSON answer,
  // throws when there is none or it is not {"ok":true,...}.
  std::string ctl(int i, const std::string& line);
  // Both directors reloaded every `period`, alternately with an invalid file and the valid
  // one, for `seconds`; the valid file is the last.
  void reload_storm(double seconds, double period);
  // Director i out of descriptors: its RLIMIT_NOFILE lowered to what it has open and the
  // few left taken by idle control-socket connections; off gives both back.
  void exhaust_descriptors(int i, bool on);
  // Crafted adverts from the client namespace (`hadirector-drill flood`); returns how many.
  long flood_adverts(double seconds, double rate);
  // Director i's front interface (eth0) deleted / made again (new ifindex and MAC).
  void delete_director_interface(int i);
  void recreate_director_interface(int i);
  // tc netem on director i's VRRP only (loss, delay, duplication, reordering).
  void set_vrrp_netem(int i, bool on);
  // DR: the real servers run hadirector's real-server role; rs1 keeps its state file on a
  // 64 KiB tmpfs.
  void fill_real_server_disk(bool full);            // rs1's tmpfs full / emptied
  void reload_real_server(int r, bool extra_vip);   // config rewritten (+10.9.0.101), SIGHUP
  long real_server_status_number(int r, const std::string& after, const std::string& key);
  bool real_server_has(int r, const std::string& address);  // on its lo
  bool real_server_alive(int r);
  // What scenarios read.
  std::vector<Event> events(double a, double b) { return traffic_.between(a, b); }
  // Director i was sampled MASTER between a and b.
  bool took_over(int i, double a, double b) {
    for (auto& s : sampler_.between(a, b))
      if ((i == 0 ? s.a : s.b) == "MASTER") return true;
    return false;
  }
  std::string master_ipvs_table();
  std::string director_state(int i, const std::string& instance = "VI_1") {
    return vrrp_state(socket_of(i), instance);
  }
  // Scenarios' notes to themselves between act and judge (counters read before the fault).
  std::map<std::string, long> marks;
  // A number from director i's `status --json`: the first "key" after the first occurrence
  // of the text `after` ("" for the document's start); -1 when there is no answer or no key.
  long status_number(int i, const std::string& after, const std::string& key);

 private:
  std::string write_config(int i);
  void start_real_role(int r);
  void write_real_server_config(int r, bool extra_vip);
  long status_number_at(const std::string& sock, const std::string& after, const std::string& key);
  bool wait_steady(double timeout);
  std::string master_ns();
  std::string ipvs_table(const std::string& ns);
  // The nftables data plane's table read back with nft (nftables/render.h parse_table), in
  // ipvsadm -Ln's shape: what the scenarios and the tests read.
  std::string nft_table(const std::string& ns);
  std::string socket_of(int i) const;
  Result play(const Scenario& sc);
  void soak(const std::function<void(const std::string&)>& play_one);
  bool director_alive(int i);
  // Director i's kernel table against the desired one (the lab's one service, its three
  // real servers with the current weights and forwarding method); "" when equal.
  std::string ipvs_mismatch(int i);
  Result measure(const Scenario& sc, double t_fault, double t_end, double t_heal);
  void progress(const std::string& s);

  Options o_;
  LabParams p_;
  std::map<std::string, Budget> budgets_;
  Lab lab_;
  Traffic traffic_;
  Sampler sampler_;
  pid_t directors_[2] = {-1, -1};
  pid_t conntrackd_[2] = {-1, -1};
  pid_t reals_[3] = {-1, -1, -1};
  pid_t roles_[3] = {-1, -1, -1};  // DR: the real-server role on each real server
  std::string tmpfs_;              // DR: rs1's runtime directory, mounted by us
  std::array<int, 3> weights_ = {1, 1, 1};
  std::optional<config::AuthSection> auth_[2];
  // Each scenario's window, from its fault to the end of its restore: requests failing
  // outside every window are failures in steady state, which no budget allows.
  std::vector<std::pair<double, double>> windows_;
  double traffic_start_ = 0, traffic_end_ = 0;
  int requests_ = 0, failed_outside_ = 0;
  SoakReport soak_;
  std::vector<int> held_;          // exhaust_descriptors: our end of the idle connections
  long saved_nofile_ = -1;
};

}  // namespace hd::drill
