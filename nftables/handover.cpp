// SPDX-License-Identifier: GPL-2.0-or-later
#include "nftables/handover.h"

#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <set>

namespace hd::nft {
namespace {

constexpr const char* kTable = "hadirector_handover";

// An interface name or comment as an nft string (names cannot hold quotes; a comment could).
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? '_' : c;
  return out + "\"";
}

// "{ a . p, b . q }" for the endpoints of one family.
std::string endpoint_set(const std::vector<HandoverServices::Endpoint>& all, Family f) {
  std::set<std::string> items;
  for (auto& e : all)
    if (e.address.family() == f) items.insert(e.address.str() + " . " + std::to_string(e.port));
  if (items.empty()) return "";
  std::string out = "{ ";
  for (auto it = items.begin(); it != items.end(); ++it)
    out += (it == items.begin() ? "" : ", ") + *it;
  return out + " }";
}

void render_family(std::string& out, Family f, const std::vector<HandoverPeer>& peers,
                   const HandoverServicesByInstance& by_instance) {
  const std::string fam = f == Family::v4 ? "ip" : "ip6";
  out += "add table " + fam + " " + kTable + "\n";
  out += "delete table " + fam + " " + kTable + "\n";
  std::vector<const HandoverPeer*> mine;
  for (auto& p : peers)
    if (p.address.family() == f) mine.push_back(&p);
  if (mine.empty()) return;
  const std::string not_first_syn = "tcp flags & (syn | ack) != syn";
  const HandoverServices none;
  std::string input, forward;
  for (const HandoverPeer* p : mine) {
    auto found = by_instance.find(p->instance);
    const HandoverServices& s = found == by_instance.end() ? none : found->second;
    const std::string services = endpoint_set(s.services, f);
    const std::string reals = endpoint_set(s.nat_reals, f);
    const std::string iif = "iifname " + quoted(p->interface) + " ";
    const std::string to = " dup to " + p->address.str() + " device " + quoted(p->interface) +
                           " drop comment " +
                           quoted(p->instance.substr(0, 64) + ": to " + p->address.str());
    if (p->input && !services.empty())
      input += "    " + iif + fam + " daddr . tcp dport " + services + " " + not_first_syn + to + "\n";
    if (!reals.empty()) forward += "    " + iif + fam + " saddr . tcp sport " + reals + to + "\n";
  }
  out += "table " + fam + " " + kTable + " {\n";
  out += "  chain input {\n    type filter hook input priority 300; policy accept;\n" + input + "  }\n";
  out += "  chain forward {\n    type filter hook forward priority 300; policy accept;\n" + forward +
         "  }\n}\n";
}

}  // namespace

std::string render_handover(const std::vector<HandoverPeer>& peers,
                            const HandoverServicesByInstance& s) {
  std::string out;
  render_family(out, Family::v4, peers, s);
  render_family(out, Family::v6, peers, s);
  return out;
}

std::string run_nft_script(const std::string& script) {
  // libnftables exits the process when it cannot open its netlink socket: try one first
  // (the kernel loads nfnetlink for it where it can).
  int probe = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (probe < 0) return std::string("no nf_tables netlink: ") + std::strerror(errno);
  ::close(probe);
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) return "cannot create an nftables context";
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  std::string err;
  if (nft_run_cmd_from_buffer(ctx, script.c_str()) != 0) {
    err = nft_ctx_get_error_buffer(ctx);
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    if (err.empty()) err = "nft refused the handover table";
  }
  nft_ctx_free(ctx);
  return err;
}

}  // namespace hd::nft
