// The real-server role for LVS-DR and LVS-TUN: hold each VIP locally (lo:N as
// /32 for dr, tunl0 for tun) without answering ARP for it, by setting
// arp_ignore / arp_announce (and rp_filter for tun). Every value changed is
// recorded in a state file first, so stop restores the previous values, also
// after a crash (the next start reads the file instead of recording our own
// values as "previous"). Drift (an address removed, a sysctl reset) is repaired.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/json.h"
#include "core/loop.h"

namespace hd::rtnl {
class NetlinkAddressManager;
}

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
};
std::string format_state(const SavedState& s);
SavedState parse_state(const std::string& text);

// The interface holding the IPv4 default route, from /proc/net/route text.
std::optional<std::string> default_route_interface(const std::string& proc_net_route);

class Role {
 public:
  Role(Loop& loop, RoleConfig cfg);
  ~Role();
  // Applies everything; returns "" or a one-line error.
  std::string start();
  std::string reload(RoleConfig cfg);
  // Restores every previous value, removes our addresses, deletes the state file.
  void stop();
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
  std::string read_sysctl(const std::string& key) const;
  bool write_sysctl(const std::string& key, const std::string& value);
  bool save_state();
  void check();

  Loop& loop_;
  RoleConfig cfg_;
  std::vector<std::string> interfaces_;
  std::map<std::string, std::string> wanted_;
  SavedState saved_;
  Timer timer_;
  std::unique_ptr<rtnl::NetlinkAddressManager> addrs_;
  uint64_t repairs_ = 0;
  bool running_ = false;
};

}  // namespace hd::realserver
