// SPDX-License-Identifier: GPL-2.0-or-later
// The real-server role for LVS-DR and LVS-TUN: hold each VIP locally (lo:N as
// /32 for dr, tunl0 for tun) without answering ARP for it, by setting
// arp_ignore / arp_announce (and rp_filter for tun). Every value changed is
// recorded in a state file first, so stop restores the previous values, also
// after a crash (the next start reads the file instead of recording our own
// values as "previous"). Drift (an address removed, a sysctl reset) is repaired.
#pragma once
#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/durable_file.h"
#include "core/json.h"
#include "core/loop.h"
#include "rtnl/address.h"

namespace hd::realserver {

struct VipSpec {
  IpAddress address;
  bool tun = false;  // false: dr (on lo), true: tun (on tunl0)
};

struct RoleConfig {
  std::vector<VipSpec> vips;
  std::vector<std::string> interfaces;  // empty: the default route's interface
  int arp_ignore = 1;
  int arp_announce = 2;
  int rp_filter = 0;
  Duration check_interval = std::chrono::seconds(5);
  std::string state_file;  // e.g. /run/hadirector/realserver.state
  std::string proc_sys = "/proc/sys";  // tests may point this elsewhere
};

// Values as the role wants them: "net/ipv4/conf/all/arp_ignore" -> "1".
std::map<std::string, std::string> wanted_sysctls(const RoleConfig& cfg,
                                                  const std::vector<std::string>& interfaces);
// The state file's format: one "key<TAB>value" per line; "addr<TAB>ifname<TAB>label<TAB>a/len"
// for addresses we added. Pure, for tests.
struct SavedState {
  std::map<std::string, std::string> sysctls;  // previous values
  std::vector<std::string> addresses;          // "ifname label address/len" we added
  // sysctl lines parse_state refused (a key the role never writes, a value that is not a
  // number): never used as paths, only logged.
  std::vector<std::string> rejected;
};
std::string format_state(const SavedState& s);
SavedState parse_state(const std::string& text);

// An interface name the kernel would accept (dev_valid_name: 1-15 bytes, not "." or "..",
// no '/', ':' or white space), or "all" / "default".
bool valid_interface_name(const std::string& name);
// Whether `key` is one the role writes: net/ipv4/conf/<ifname>/{arp_ignore,arp_announce,
// rp_filter} with a valid <ifname>. Keys read back from the state file are used as paths
// under proc_sys only when this holds, so a corrupt or crafted file cannot name any other file.
bool is_role_sysctl_key(const std::string& key);

// The state file is written through core/durable_file.h.
using hd::FileOps;
using hd::posix_file_ops;
using hd::write_file_durably;

// The interface holding the IPv4 default route, from /proc/net/route text.
std::optional<std::string> default_route_interface(const std::string& proc_net_route);

class Role {
 public:
  // `addresses`: null for rtnetlink (opened on first use); `files`: null for posix_file_ops().
  Role(Loop& loop, RoleConfig cfg, std::unique_ptr<rtnl::AddressManager> addresses = nullptr,
       FileOps* files = nullptr);
  ~Role();
  // Applies everything; returns "" or a one-line error.
  std::string start();
  // Fails with nothing changed (the old config stays in force) when the previous values the
  // new config needs cannot be saved (a full disk). A reload that drops sysctls restores
  // their previous values, and one that drops VIPs removes them; if the state file cannot
  // record that, the error is returned and the next drift check saves it again.
  std::string reload(RoleConfig cfg);
  // Restores every previous value, removes our addresses, deletes the state file. When a
  // restore fails the state file is kept (the next start reads it, the next stop retries)
  // and the error is returned (and logged).
  std::string stop();
  void status(JsonWriter& w) const;
  void status_text(std::string& out) const;
  uint64_t repairs() const { return repairs_; }

 private:
  struct Addr {
    std::string ifname;  // lo or tunl0
    std::string label;   // lo:0 ...
    IpAddress address;
    int prefix;
  };
  std::vector<Addr> wanted_addresses() const;
  std::string apply(bool initial);
  // The first half of apply(): the previous values of everything the config wants (sysctls,
  // addresses we will add, `present`: present_addresses()) recorded and saved. "" or an
  // error, with nothing changed.
  std::string record_previous(const std::map<std::string, std::string>& present);
  // The address manager, made on first use ("" in err, or why it could not be made).
  rtnl::AddressManager* addresses(std::string& err);
  std::string read_sysctl(const std::string& key) const;
  bool write_sysctl(const std::string& key, const std::string& value);
  std::string save_state();
  void check();

  Loop& loop_;
  RoleConfig cfg_;
  std::vector<std::string> interfaces_;
  std::map<std::string, std::string> wanted_;
  SavedState saved_;
  Timer timer_;
  std::unique_ptr<rtnl::AddressManager> addrs_;
  FileOps& files_;
  uint64_t repairs_ = 0;
  bool running_ = false;
  bool state_dirty_ = false;  // saved_ holds what the state file does not (yet)
};

}  // namespace hd::realserver
