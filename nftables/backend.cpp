// SPDX-License-Identifier: GPL-2.0-or-later
#include "nftables/backend.h"

#include <nftables/libnftables.h>

#include <sys/stat.h>

#include <set>

#include "core/log.h"
#include "ipvs/table_apply.h"
#include "nftables/render.h"

namespace hd::nft {

ipvs::Result<std::unique_ptr<NftablesBackend>> NftablesBackend::open() {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) return ipvs::Error{"nftables: cannot create a libnftables context", 0};
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  std::unique_ptr<NftablesBackend> b(new NftablesBackend(ctx));
  if (auto err = b->run(base_script()); !err.empty())
    return ipvs::Error{"nftables: cannot create table ip " + std::string(kTable) + ": " + err, 0};
  // What a previous run left keeps forwarding; it is what we hold now (adopted: the real
  // servers in it start as up, as with IPVS).
  b->programmed_ = parse_table(b->list());
  return b;
}

NftablesBackend::~NftablesBackend() { nft_ctx_free(ctx_); }

bool nf_tables_loaded() {
  struct stat st {};
  return ::stat("/sys/module/nf_tables", &st) == 0;
}

std::string remove_leftover_table() {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) return "nftables: cannot create a libnftables context";
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  const std::string t = "table ip " + std::string(kTable);
  std::string out;
  if (nft_run_cmd_from_buffer(ctx, ("list " + t).c_str()) == 0) {
    out = nft_run_cmd_from_buffer(ctx, ("delete " + t).c_str()) == 0
              ? "removed " + t + ", left by a run with dataplane = \"nftables\""
              : "cannot remove " + t + " left by a run with dataplane = \"nftables\": " +
                    std::string(nft_ctx_get_error_buffer(ctx));
  }
  nft_ctx_free(ctx);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string NftablesBackend::run(const std::string& script) {
  if (script.empty()) return "";
  if (nft_run_cmd_from_buffer(ctx_, script.c_str()) == 0) return "";
  std::string err = nft_ctx_get_error_buffer(ctx_);
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  // One line for logs and status: the first line of nft's message.
  if (auto nl = err.find('\n'); nl != std::string::npos) err = err.substr(0, nl);
  return err.empty() ? "nft refused the change" : err;
}

std::string NftablesBackend::list() {
  const std::string cmd = "list table ip " + std::string(kTable);
  if (nft_run_cmd_from_buffer(ctx_, cmd.c_str()) != 0) {
    nft_ctx_get_error_buffer(ctx_);  // consumed, so the next error is read alone
    return "";
  }
  return nft_ctx_get_output_buffer(ctx_);
}

ipvs::Result<void> NftablesBackend::apply(const ipvs::Operation& op) {
  return apply_all({op}).front();
}

std::vector<ipvs::Result<void>> NftablesBackend::apply_all(const std::vector<ipvs::Operation>& ops) {
  // Only the services the operations name: copied, changed as the kernel would take the
  // operations one by one, checked, rendered; the difference goes to the kernel in one
  // transaction. A health change costs its own service, not the farm's.
  std::set<ipvs::ServiceKey> touched;
  for (auto& op : ops) touched.insert(ipvs::service_of(op));
  ipvs::Table before, next;
  for (auto& k : touched)
    if (auto it = programmed_.find(k); it != programmed_.end()) before.emplace(k, it->second);
  next = before;
  std::vector<ipvs::Result<void>> out;
  out.reserve(ops.size());
  for (auto& op : ops) {
    int err = ipvs::apply_to(next, op);
    if (err) out.push_back(ipvs::operation_error(op, err));
    else out.push_back(ipvs::Result<void>());
  }
  // A service this data plane cannot program (the loader refuses such configs; this is the
  // backstop) fails its own operations and stays as it was; the others go ahead.
  for (auto& k : touched) {
    auto it = next.find(k);
    if (it == next.end()) continue;
    auto why = unsupported(it->second);
    if (why.empty()) continue;
    ipvs::Error e{"nftables data plane: " + k.str() + ": not supported: " + why.front(), 0};
    for (size_t i = 0; i < ops.size(); ++i)
      if (ipvs::service_of(ops[i]) == k && out[i]) out[i] = e;
    if (auto b = before.find(k); b != before.end()) it->second = b->second;
    else next.erase(it);
  }
  if (auto err = run(change_script(before, next, damaged_)); !err.empty()) {
    ipvs::Error e{"nftables: " + err, 0};
    for (auto& r : out)
      if (r) r = e;
    return out;
  }
  for (auto& k : touched) {
    if (auto it = next.find(k); it != next.end()) {
      programmed_[k] = std::move(it->second);
      damaged_.erase(k);
    } else {
      programmed_.erase(k);
    }
  }
  return out;
}

ipvs::Result<ipvs::Table> NftablesBackend::dump_services() {
  const std::string text = list();
  const Listing l = parse_listing(text);
  std::string fix;
  if (!l.base) {
    // Also creates the table and map when they are gone.
    HD_LOG(warning, "nftables") << (text.empty() ? "table ip " + std::string(kTable) + " is gone"
                                                  : std::string("the base chains were changed"))
                                << ": put back";
    fix += base_script();
  }
  ipvs::Table out;
  for (auto it = programmed_.begin(); it != programmed_.end();) {
    const auto& key = it->first;
    if (holds(l, it->second)) {
      ipvs::Service s = it->second;
      s.destinations.clear();
      out.emplace(key, std::move(s));
      ++it;
      continue;
    }
    const std::string c = chain_name(key);
    auto e = l.elements.find(key);
    auto r = l.rules.find(c);
    if (e != l.elements.end() && e->second == c && r != l.rules.end() && r->second == 1) {
      // Its one rule says something else: listed as the kernel has it.
      HD_LOG(warning, "nftables") << key.str() << ": its rule in chain " << c
                                  << " is not the one written: repairing";
      ipvs::Service s = l.services.at(key);
      it->second = s;
      s.destinations.clear();
      out.emplace(key, std::move(s));
      ++it;
      continue;
    }
    if (!text.empty())  // a table gone whole was said once
      HD_LOG(warning, "nftables") << key.str() << ": "
                                << (e == l.elements.end() ? "its map element is gone"
                                    : e->second != c  ? "its map element jumps to " + e->second
                                    : r == l.rules.end() ? "its chain is gone"
                                                         : "its chain holds " + std::to_string(r->second) + " rules")
                                << ": rewriting it";
    damaged_[key] = e != l.elements.end() ? e->second : "";
    it = programmed_.erase(it);
  }
  // What nothing programmed: removed. (A damaged service's leftovers stay for its rewrite.)
  std::set<ipvs::ServiceKey> strays;
  for (auto& [key, chain] : l.elements)
    if (!programmed_.count(key) && !damaged_.count(key)) strays.insert(key);
  for (auto& [key, svc] : l.services)  // one a chain
    if (!programmed_.count(key) && !damaged_.count(key)) strays.insert(key);
  for (auto& key : strays) {
    HD_LOG(warning, "nftables") << key.str() << ": in table ip " << kTable
                                << " but not programmed by this daemon: removed";
    fix += remove_script(key, l);
  }
  if (auto err = run(fix); !err.empty()) return ipvs::Error{"nftables: repairing the table: " + err, 0};
  return out;
}

ipvs::Result<std::vector<ipvs::Destination>> NftablesBackend::dump_destinations(
    const ipvs::ServiceKey& key) {
  auto it = programmed_.find(key);
  if (it == programmed_.end()) return std::vector<ipvs::Destination>{};
  return it->second.destinations;
}

ipvs::Result<void> NftablesBackend::set_timeouts(const ipvs::Timeouts&) {
  return ipvs::Error{"nftables data plane: IPVS timeouts do not apply (conntrack's do)", 0};
}
ipvs::Result<void> NftablesBackend::start_sync_daemon(const ipvs::SyncDaemon&) {
  return ipvs::Error{"nftables data plane: no IPVS sync daemon (conntrackd syncs conntrack)", 0};
}
ipvs::Result<void> NftablesBackend::stop_sync_daemon(ipvs::SyncState) { return {}; }

ipvs::Result<void> NftablesBackend::remove_table() {
  if (auto err = run("delete table ip " + std::string(kTable) + "\n"); !err.empty())
    return ipvs::Error{"nftables: " + err, 0};
  programmed_.clear();
  damaged_.clear();
  return {};
}

}  // namespace hd::nft
