// SPDX-License-Identifier: GPL-2.0-or-later
#include "nftables/backend.h"

#include <nftables/libnftables.h>

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
  // The operations on a copy of what is programmed, as the kernel would take them one by
  // one; then the difference goes to the kernel in one transaction: all or nothing.
  ipvs::Table next = programmed_;
  std::vector<ipvs::Result<void>> out;
  out.reserve(ops.size());
  for (auto& op : ops) {
    int err = ipvs::apply_to(next, op);
    if (err) out.push_back(ipvs::operation_error(op, err));
    else out.push_back(ipvs::Result<void>());
  }
  for (auto& [key, s] : next) {
    auto why = unsupported(s);
    if (!why.empty()) {
      ipvs::Error e{"nftables data plane: " + key.str() + ": not supported: " + why.front(), 0};
      for (auto& r : out)
        if (r) r = e;
      return out;
    }
  }
  if (auto err = run(change_script(programmed_, next)); !err.empty()) {
    ipvs::Error e{"nftables: " + err, 0};
    for (auto& r : out)
      if (r) r = e;
    return out;
  }
  programmed_ = std::move(next);
  return out;
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
  return {};
}

}  // namespace hd::nft
