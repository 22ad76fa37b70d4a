// SPDX-License-Identifier: GPL-2.0-or-later
// The drill's lab: namespaces on one switch namespace with bridges, every
// name prefixed uniquely; destroy() removes exactly what build() made.
//
// nat: client 10.9.0.10 --front-- directors 10.9.0.2/.3 (VIP 10.9.0.100)
//      directors 10.10.0.2/.3 --back-- real servers 10.10.0.11-13, gateway VIP 10.10.0.1
// dr:  client, directors and real servers on front (real servers 10.9.0.11-13),
//      real servers hold the VIP on lo with ARP hidden (the real-server role).
#pragma once
#include <string>
#include <vector>

namespace hd::drill {

enum class Mode { nat, dr };

struct Lab {
  std::string prefix;
  Mode mode = Mode::nat;
  std::string workdir;
  std::vector<std::string> namespaces;  // created, in order

  std::string ns(const std::string& role) const { return prefix + "-" + role; }
  // Role names: directors "a" (0) and "b" (1), real servers "rs1".."rs3" (0-2). They name the
  // namespaces and the files in workdir.
  static std::string director(int i) { return i == 0 ? "a" : "b"; }
  static std::string real(int r) { return "rs" + std::to_string(r + 1); }
  std::string vip() const { return "10.9.0.100"; }
  std::string extra_vip() const { return "10.9.0.101"; }  // disk-full's reload adds it
  std::string director_ip(int i) const { return i == 0 ? "10.9.0.2" : "10.9.0.3"; }
  std::string director_back_ip(int i) const { return i == 0 ? "10.10.0.2" : "10.10.0.3"; }
  std::string real_ip(int i) const {
    return (mode == Mode::nat ? "10.10.0." : "10.9.0.") + std::to_string(11 + i);
  }
  // The switch-side veth names of a director's interfaces (for cutting links).
  std::vector<std::string> director_ports(int i) const;
  // Deletes a host's interface (the veth pair: the host sees RTM_DELLINK) and makes it
  // again with the same name and address (a new ifindex and MAC), as a driver reload or
  // an operator's `ip link del`/`add` would.
  void delete_interface(const std::string& role, const std::string& ifname);
  void recreate_interface(const std::string& role, const std::string& ifname);

  void build();    // throws std::runtime_error on failure
  void destroy();  // kills every process in our namespaces, deletes them; never throws

 private:
  void host(const std::string& role, const std::string& ifname, const std::string& bridge,
            const std::string& addr);
  struct Port {
    std::string role, ifname, bridge, addr, port;  // port: the switch side's name
  };
  void plug(const Port& p);
  const Port& port(const std::string& role, const std::string& ifname) const;
  int ports_ = 0;
  std::vector<Port> port_of_;
};

}  // namespace hd::drill
