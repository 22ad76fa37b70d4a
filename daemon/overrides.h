// SPDX-License-Identifier: GPL-2.0-or-later
// Runtime overrides: what operators set with `hadirector ctl` (drain, maint, a runtime
// weight), by real-server id, with who set each and when. They outlive reloads and restarts:
// every change is written to [global] state_dir/overrides.toml (atomically, through
// core/durable_file.h) before it takes effect, and a change that cannot be saved is refused.
// A reload that removes a real server drops its override, with a log line.
//
// The store only records intent; the LVS subsystem turns it into IPVS weights and decides
// when a drain is complete (it sees the kernel's connection counts), which it records here.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/durable_file.h"
#include "core/json.h"
#include "ipvs/desired.h"

namespace hd {

struct RealOverride {
  enum class Mode { none, drain, drained, maint };
  Mode mode = Mode::none;
  // drain: when the server is taken out even with connections left (Unix time); none: when
  // its active connections reach 0.
  std::optional<double> deadline;
  std::optional<int> weight;  // runtime weight
  std::string by;             // who set it ("uid 0"), and when (Unix time)
  double at = 0;
  // drained: why the drain ended ("no active connection is left", "its drain timeout
  // passed": connections were cut), so that an operator can tell the two apart later.
  std::string reason;
  bool operator==(const RealOverride&) const = default;
};
const char* to_string(RealOverride::Mode m);

// A VRRP instance held out of MASTER (hadirector ctl hold / failover) until released.
struct InstanceHold {
  enum class Mode { hold, failover };
  Mode mode = Mode::hold;
  std::string by;
  double at = 0;
  bool operator==(const InstanceHold&) const = default;
};
const char* to_string(InstanceHold::Mode m);

// An announce = "bgp" address withdrawn by the operator (hadirector ctl withdraw) until
// announced again.
struct Withdrawal {
  std::string by;
  double at = 0;
  bool operator==(const Withdrawal&) const = default;
};
// "drain", "maint, weight 3", "weight 0", "none".
std::string describe(const RealOverride& o);

class Overrides {
 public:
  using Reals = std::map<std::string, RealOverride>;  // by real-server id
  using Holds = std::map<std::string, InstanceHold>;  // by VRRP instance name
  using Withdrawals = std::map<std::string, Withdrawal>;  // by address, as IpAddress::str()
  struct Data {
    Reals reals;
    Holds holds;
    Withdrawals withdrawals;
    bool operator==(const Data&) const = default;
  };

  explicit Overrides(FileOps& files = posix_file_ops()) : files_(files) {}
  // Where the overrides are kept; "" keeps them in memory only.
  void set_path(std::string path) { path_ = std::move(path); }
  const std::string& path() const { return path_; }

  // Reads the file (a missing one is no overrides). On a parse error the overrides are
  // empty and the error is returned (the file is left as it is until the next change).
  std::string load();

  const Reals& reals() const { return data_.reals; }
  const Holds& holds() const { return data_.holds; }
  const Withdrawals& withdrawals() const { return data_.withdrawals; }
  const RealOverride* find(const std::string& id) const;
  // Replaces (or, with mode none and no weight, removes) the override of `id` and saves.
  // "" on success; if the file cannot be written the change is undone and the error returned.
  std::string set(const std::string& id, const RealOverride& o);
  // Holds (hold) or releases (nullopt) an instance and saves; as set().
  std::string set_hold(const std::string& instance, const std::optional<InstanceHold>& h);
  // The engine lifted a hold itself (a failover nobody took): dropped and saved (a failed
  // save is logged).
  void hold_lifted(const std::string& instance);
  // Withdraws (a Withdrawal) or announces again (nullopt) an anycast address and saves; as set().
  std::string set_withdrawal(const std::string& address, const std::optional<Withdrawal>& w);
  // A drain came to its end: the entry becomes `drained` (kept and saved; a failed save
  // is logged, the change stays in memory, and the next save writes it).
  void drain_done(const std::string& id, const std::string& why);
  // Called after a real server's override changed (set, drain_done, prune) with the id,
  // the override now (nullptr: none) and, where the store knows it, why ("" for set()).
  // `hadirector ctl drain --wait` answers through it.
  using RealListener =
      std::function<void(const std::string& id, const RealOverride* now, const std::string& why)>;
  void on_real_change(RealListener f) { listener_ = std::move(f); }
  // Drops the overrides of real servers not in `ids`, the holds of instances not in
  // `instances` and the withdrawals of addresses not in `addresses`; returns one line per
  // dropped entry.
  // `save`: write the file now (a reload); false at start, where a config without those
  // servers may be a passing one (a test run, a rescue config): the file keeps them until
  // the next change is saved.
  std::vector<std::string> prune(const std::set<std::string>& ids,
                                 const std::set<std::string>& instances,
                                 const std::set<std::string>& addresses, bool save = true);

  // What desired() reads: drain -> drain; drained, maint -> out; the runtime weights.
  ipvs::AdminMap admin_map() const;
  // The open drains' deadlines (Unix time; nullopt: until no active connection is left).
  std::map<std::string, std::optional<double>> open_drains() const;
  // status "overrides": [{real_server, mode, weight, deadline, by, at}, ...]
  void status(JsonWriter& w) const;
  // status "holds": [{vrrp_instance, mode, by, at}, ...]
  void holds_status(JsonWriter& w) const;
  // status "withdrawals": [{address, by, at}, ...]
  void withdrawals_status(JsonWriter& w) const;

  // The file's text and back (pure; fuzzed through tests/fuzz/overrides_file).
  static std::string format(const Data& data);
  static std::optional<Data> parse(const std::string& text, const std::string& source,
                                   std::string& error);

 private:
  std::string save();
  // Saves; on failure puts `before` back unless the file already holds the change.
  std::string commit(Data before);
  void changed(const std::string& id, const std::string& why) {
    if (listener_) listener_(id, find(id), why);
  }
  FileOps& files_;
  std::string path_;
  Data data_;
  RealListener listener_;
};

}  // namespace hd
