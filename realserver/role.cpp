// SPDX-License-Identifier: GPL-2.0-or-later
#include "realserver/role.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "core/log.h"
#include "rtnl/address.h"

namespace hd::realserver {
namespace {

std::string slurp(const std::string& path, bool* ok = nullptr) {
  std::ifstream in(path);
  if (ok) *ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

rtnl::AddressSpec to_vip(const std::string& ifname, const std::string& label, const IpAddress& a,
                     int prefix) {
  rtnl::AddressSpec v;
  v.address = a;
  v.prefix_len = static_cast<uint8_t>(prefix);
  v.label = label;
  v.ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  return v;
}

// An address we added, as the state file records it: "ifname label address/len" ("-" for no
// label), so that stop (or the next start, after a crash) removes exactly it.
std::string address_record(const std::string& ifname, const std::string& label,
                           const IpAddress& a, int prefix) {
  return ifname + " " + (label.empty() ? "-" : label) + " " + a.str() + "/" + std::to_string(prefix);
}

struct Recorded {
  std::string ifname, label;
  IpPrefix prefix;
  rtnl::AddressSpec spec() const { return to_vip(ifname, label, prefix.address, prefix.length); }
};

std::optional<Recorded> parse_record(const std::string& rec) {
  std::istringstream is(rec);
  std::string ifname, label, cidr;
  is >> ifname >> label >> cidr;
  auto p = IpPrefix::parse(cidr);
  if (!p) return std::nullopt;
  return Recorded{ifname, label == "-" ? "" : label, *p};
}

// Addresses present now: "ifname|address" plus the label of IPv4 ones.
std::map<std::string, std::string> present_addresses() {
  std::map<std::string, std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) < 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    IpAddress a;
    if (i->ifa_addr->sa_family == AF_INET)
      a = IpAddress::from_v4(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr);
    else if (i->ifa_addr->sa_family == AF_INET6)
      a = IpAddress::from_v6(reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr);
    else
      continue;
    std::string label = i->ifa_name;
    std::string ifname = label.substr(0, label.find(':'));
    out[ifname + "|" + a.str()] = label;
  }
  freeifaddrs(list);
  return out;
}


void set_link_up(const std::string& ifname) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP;
    ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  ::close(fd);
}

}  // namespace


bool valid_interface_name(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == "..") return false;
  for (unsigned char c : name)
    if (c == '/' || c == ':' || std::isspace(c) || c == 0) return false;
  return true;
}

bool is_role_sysctl_key(const std::string& key) {
  static const std::string kPrefix = "net/ipv4/conf/";
  if (key.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  auto rest = key.substr(kPrefix.size());
  auto slash = rest.find('/');
  if (slash == std::string::npos) return false;
  auto name = rest.substr(slash + 1);
  return valid_interface_name(rest.substr(0, slash)) &&
         (name == "arp_ignore" || name == "arp_announce" || name == "rp_filter");
}

std::map<std::string, std::string> wanted_sysctls(const RoleConfig& cfg,
                                                  const std::vector<std::string>& interfaces) {
  std::map<std::string, std::string> w;
  bool any_v4 = false, any_tun = false;
  for (auto& v : cfg.vips) {
    any_v4 = any_v4 || v.address.is_v4();
    any_tun = any_tun || v.tun;
  }
  if (any_v4) {
    std::vector<std::string> ifs = {"all", "lo"};
    ifs.insert(ifs.end(), interfaces.begin(), interfaces.end());
    for (auto& i : ifs) {
      w["net/ipv4/conf/" + i + "/arp_ignore"] = std::to_string(cfg.arp_ignore);
      w["net/ipv4/conf/" + i + "/arp_announce"] = std::to_string(cfg.arp_announce);
    }
  }
  if (any_tun) {
    // The kernel uses max(all, interface): both must be relaxed.
    w["net/ipv4/conf/all/rp_filter"] = std::to_string(cfg.rp_filter);
    w["net/ipv4/conf/tunl0/rp_filter"] = std::to_string(cfg.rp_filter);
  }
  return w;
}

std::string format_state(const SavedState& s) {
  std::string out = "# hadirector real-server role: values to restore on stop\n";
  for (auto& [k, v] : s.sysctls) out += "sysctl\t" + k + "\t" + v + "\n";
  for (auto& a : s.addresses) out += "addr\t" + a + "\n";
  return out;
}

SavedState parse_state(const std::string& text) {
  SavedState s;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string kind;
    std::getline(ls, kind, '\t');
    if (kind == "sysctl") {
      std::string k, v;
      std::getline(ls, k, '\t');
      std::getline(ls, v);
      // The key becomes a path under proc_sys and the value its contents: only what the
      // role itself would have written gets through.
      bool number = !v.empty() && v.size() <= 11 &&
                    std::all_of(v.begin(), v.end(),
                                [](unsigned char c) { return std::isdigit(c) || c == '-'; });
      if (is_role_sysctl_key(k) && number)
        s.sysctls[k] = v;
      else
        s.rejected.push_back(line);
    } else if (kind == "addr") {
      std::string rest;
      std::getline(ls, rest);
      if (!rest.empty()) s.addresses.push_back(rest);
    }
  }
  return s;
}

std::optional<std::string> default_route_interface(const std::string& proc_net_route) {
  std::istringstream in(proc_net_route);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string ifname, dest, gw, flags, refcnt, use, metric, mask;
    ls >> ifname >> dest >> gw >> flags >> refcnt >> use >> metric >> mask;
    if (dest == "00000000" && mask == "00000000") return ifname;
  }
  return std::nullopt;
}

Role::Role(Loop& loop, RoleConfig cfg, std::unique_ptr<rtnl::AddressManager> addresses,
           FileOps* files)
    : loop_(loop),
      cfg_(std::move(cfg)),
      timer_(loop, [this] { check(); }),
      addrs_(std::move(addresses)),
      files_(files ? *files : posix_file_ops()) {}
Role::~Role() = default;

std::vector<Role::Addr> Role::wanted_addresses() const {
  std::vector<Addr> out;
  int n = 0;
  for (auto& v : cfg_.vips) {
    Addr a;
    a.ifname = v.tun ? "tunl0" : "lo";
    a.label = v.address.is_v4() ? a.ifname + ":" + std::to_string(n++) : "";
    a.address = v.address;
    a.prefix = v.address.is_v4() ? 32 : 128;
    out.push_back(a);
  }
  return out;
}

std::string Role::read_sysctl(const std::string& key) const {
  bool ok = false;
  std::string v = trim(slurp(cfg_.proc_sys + "/" + key, &ok));
  return ok ? v : "";
}

bool Role::write_sysctl(const std::string& key, const std::string& value) {
  std::ofstream out(cfg_.proc_sys + "/" + key);
  out << value << "\n";
  out.flush();
  return static_cast<bool>(out);
}

std::string Role::save_state() {
  auto err = write_file_durably(files_, cfg_.state_file, format_state(saved_));
  if (!err.empty()) return "cannot write state file " + cfg_.state_file + " (" + err + ")";
  state_dirty_ = false;
  return "";
}

std::string Role::start() {
  interfaces_ = cfg_.interfaces;
  if (interfaces_.empty()) {
    auto d = default_route_interface(slurp("/proc/net/route"));
    if (d) interfaces_.push_back(*d);
  }
  bool need_tun = false;
  for (auto& v : cfg_.vips) need_tun = need_tun || v.tun;
  if (need_tun && if_nametoindex("tunl0") == 0)
    return "tun mode needs tunl0: load the ipip module (modprobe ipip)";
  // A state file left by a crash holds the true previous values: keep them.
  bool had = false;
  std::string text = slurp(cfg_.state_file, &had);
  if (had) {
    saved_ = parse_state(text);
    HD_LOG(info, "realserver") << "found " << cfg_.state_file
                               << " from an earlier run: keeping its recorded previous values";
    for (auto& line : saved_.rejected)
      HD_LOG(warning, "realserver")
          << cfg_.state_file << ": ignoring \"" << line << "\" (not a sysctl this role writes)";
  }
  running_ = true;
  auto err = apply(true);
  if (!err.empty()) return err;
  timer_.start(cfg_.check_interval, cfg_.check_interval);
  return "";
}

rtnl::AddressManager* Role::addresses(std::string& err) {
  if (!addrs_) addrs_ = rtnl::NetlinkAddressManager::create(loop_, err, "realserver");
  return addrs_.get();
}

std::string Role::record_previous(const std::map<std::string, std::string>& present) {
  wanted_ = wanted_sysctls(cfg_, interfaces_);
  // Record previous values before changing anything, and persist them first.
  for (auto& [k, v] : wanted_)
    if (!is_role_sysctl_key(k)) return "not a valid interface sysctl: " + k;
  bool changed_state = state_dirty_;
  for (auto& [k, v] : wanted_) {
    if (saved_.sysctls.count(k)) continue;
    std::string cur = read_sysctl(k);
    if (cur.empty()) return "cannot read /proc/sys/" + k + " (interface missing?)";
    saved_.sysctls[k] = cur;
    changed_state = true;
  }
  for (auto& a : wanted_addresses()) {
    std::string rec = address_record(a.ifname, a.label, a.address, a.prefix);
    bool ours = std::find(saved_.addresses.begin(), saved_.addresses.end(), rec) != saved_.addresses.end();
    if (!present.count(a.ifname + "|" + a.address.str()) && !ours) {
      saved_.addresses.push_back(rec);
      changed_state = true;
    }
  }
  if (changed_state) {
    // Nothing changes until the previous values are safely on disk; saved_ stays dirty so
    // the next check tries again.
    state_dirty_ = true;
    if (auto e = save_state(); !e.empty()) return e;
  }
  return "";
}

std::string Role::apply(bool initial) {
  const auto present = present_addresses();
  if (auto e = record_previous(present); !e.empty()) return e;
  std::string err;
  auto* mgr = addresses(err);
  if (!mgr) return err;
  for (auto& [k, v] : wanted_) {
    std::string cur = read_sysctl(k);
    if (cur != v) {
      if (!write_sysctl(k, v)) return "cannot write /proc/sys/" + k;
      if (!initial) {
        ++repairs_;
        HD_LOG(warning, "realserver") << k << " was " << cur << ", set back to " << v;
      } else {
        HD_LOG(info, "realserver") << k << " " << cur << " -> " << v;
      }
    }
  }
  for (auto& a : wanted_addresses()) {
    if (present.count(a.ifname + "|" + a.address.str())) continue;
    if (!initial) {
      ++repairs_;
      HD_LOG(warning, "realserver") << "VIP " << a.address.str() << " was missing from " << a.ifname
                                    << ", added back";
    } else {
      HD_LOG(info, "realserver") << "VIP " << a.address.str() << "/" << a.prefix << " on "
                                 << (a.label.empty() ? a.ifname : a.label);
    }
    if (a.ifname == "tunl0") set_link_up("tunl0");
    mgr->add(to_vip(a.ifname, a.label, a.address, a.prefix));
  }
  return "";
}

void Role::check() {
  if (!running_) return;
  auto err = apply(false);
  if (!err.empty()) HD_LOG(error, "realserver") << "drift repair: " << err;
}

std::string Role::reload(RoleConfig cfg) {
  cfg.state_file = cfg_.state_file;
  RoleConfig old_cfg = cfg_;
  auto old_interfaces = interfaces_;
  SavedState old_saved = saved_;
  bool old_dirty = state_dirty_;
  cfg_ = std::move(cfg);
  if (!cfg_.interfaces.empty()) interfaces_ = cfg_.interfaces;
  // First the previous values of whatever the new config touches, on disk: if they cannot
  // be saved (a full disk), the reload fails with nothing changed and the old config stays.
  if (auto e = record_previous(present_addresses()); !e.empty()) {
    cfg_ = std::move(old_cfg);
    interfaces_ = std::move(old_interfaces);
    saved_ = std::move(old_saved);
    state_dirty_ = old_dirty;
    wanted_ = wanted_sysctls(cfg_, interfaces_);
    return e;
  }
  // Then restore what the new config no longer wants, and apply it.
  const auto& still = wanted_;
  std::string restore_error;
  for (auto it = saved_.sysctls.begin(); it != saved_.sysctls.end();) {
    if (still.count(it->first)) {
      ++it;
      continue;
    }
    // One that cannot be restored stays recorded: stop tries again.
    if (!write_sysctl(it->first, it->second)) {
      restore_error = "cannot restore /proc/sys/" + it->first;
      ++it;
      continue;
    }
    it = saved_.sysctls.erase(it);
    state_dirty_ = true;
  }
  // VIPs we added that the new config no longer lists leave lo/tunl0 now, not at stop.
  auto wanted_now = wanted_addresses();
  for (auto it = saved_.addresses.begin(); it != saved_.addresses.end();) {
    auto rec = parse_record(*it);
    bool kept = rec && std::any_of(wanted_now.begin(), wanted_now.end(), [&](const Addr& a) {
                  return a.ifname == rec->ifname && a.address == rec->prefix.address;
                });
    if (kept || !rec) {
      ++it;
      continue;
    }
    std::string err;
    if (auto* mgr = addresses(err)) mgr->remove(rec->spec());
    HD_LOG(info, "realserver") << "VIP " << rec->prefix.str() << " removed from " << rec->ifname
                               << " (no longer configured)";
    it = saved_.addresses.erase(it);
    state_dirty_ = true;
  }
  timer_.start(cfg_.check_interval, cfg_.check_interval);
  if (state_dirty_)
    if (auto e = save_state(); !e.empty()) return e;
  auto err = apply(true);
  return err.empty() ? restore_error : err;
}

std::string Role::stop() {
  if (!running_) return "";
  running_ = false;
  timer_.stop();
  std::string err;
  auto* mgr = addresses(err);
  for (auto& line : saved_.addresses)
    if (auto rec = parse_record(line); rec && mgr) mgr->remove(rec->spec());
  std::string failed;
  for (auto& [k, v] : saved_.sysctls) {
    if (read_sysctl(k) == v) continue;
    if (!write_sysctl(k, v)) {
      HD_LOG(error, "realserver") << "cannot restore " << k << " = " << v;
      failed += (failed.empty() ? "" : ", ") + k;
      continue;
    }
    HD_LOG(info, "realserver") << "restored " << k << " = " << v;
  }
  saved_ = SavedState{};
  state_dirty_ = false;
  if (!failed.empty()) {
    // The file is the only record of the previous values left: keep it for the next run.
    HD_LOG(error, "realserver") << "keeping " << cfg_.state_file
                                << ": the next start reads it and the next stop restores again";
    return "cannot restore " + failed + " (kept " + cfg_.state_file + ")";
  }
  files_.unlink(cfg_.state_file);
  return "";
}

void Role::status(JsonWriter& w) const {
  w.begin_object();
  w.field("repairs", repairs_);
  w.key("interfaces").begin_array();
  for (auto& i : interfaces_) w.value(i);
  w.end_array();
  auto present = present_addresses();
  w.key("vips").begin_array();
  for (auto& a : wanted_addresses()) {
    w.begin_object();
    w.field("address", a.address.str() + "/" + std::to_string(a.prefix));
    w.field("interface", a.label.empty() ? a.ifname : a.label);
    w.field("present", present.count(a.ifname + "|" + a.address.str()) > 0);
    w.end_object();
  }
  w.end_array();
  w.key("sysctls").begin_array();
  for (auto& [k, v] : wanted_) {
    w.begin_object();
    w.field("key", k).field("wanted", v).field("actual", read_sysctl(k));
    auto it = saved_.sysctls.find(k);
    w.field("previous", it == saved_.sysctls.end() ? "" : it->second);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void Role::status_text(std::string& out) const {
  auto present = present_addresses();
  for (auto& a : wanted_addresses())
    out += "realserver VIP " + a.address.str() + " on " + (a.label.empty() ? a.ifname : a.label) +
           (present.count(a.ifname + "|" + a.address.str()) ? "" : " (MISSING)") + "\n";
  for (auto& [k, v] : wanted_) {
    std::string cur = read_sysctl(k);
    out += "realserver " + k + " = " + cur + (cur == v ? "" : " (wanted " + v + ")") + "\n";
  }
}

}  // namespace hd::realserver
