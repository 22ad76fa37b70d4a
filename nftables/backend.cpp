// SPDX-License-Identifier: GPL-2.0-or-later
#include "nftables/backend.h"

#include <nftables/libnftables.h>

#include <sys/stat.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "core/log.h"
#include "ipvs/table_apply.h"
#include "nftables/render.h"

namespace hd::nft {

namespace {

nft_ctx* new_context() {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) return nullptr;
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  return ctx;
}

// `list table ip hadirector` and `list table ip6 hadirector` on `ctx`, one after the other:
// nothing for a table that is not there; nullopt when the kernel could not be read (anything
// but "No such file or directory": a failed read is not a deleted table).
// The table is listed without the contents of its sets (terse): a persistent service's sets
// hold a client each, as many as there are; the services map is listed on its own, whole.
std::optional<std::string> list_table(nft_ctx* ctx) {
  std::string out;
  const unsigned flags = nft_ctx_output_get_flags(ctx);
  for (Family f : {Family::v4, Family::v6}) {
    for (const std::string& cmd : {"list table " + table(f), "list map " + table(f) + " services"}) {
      const bool terse = cmd.rfind("list table ", 0) == 0;
      nft_ctx_output_set_flags(ctx, terse ? flags | NFT_CTX_OUTPUT_TERSE : flags);
      const int rc = nft_run_cmd_from_buffer(ctx, cmd.c_str());
      nft_ctx_output_set_flags(ctx, flags);
      if (rc != 0) {
        const std::string err = nft_ctx_get_error_buffer(ctx);  // consumed: the next is read alone
        if (err.find("No such file or directory") == std::string::npos) return std::nullopt;
        break;  // no table (or no map: its elements are gone)
      }
      out += nft_ctx_get_output_buffer(ctx);
    }
  }
  return out;
}

}  // namespace

// A thread with a libnftables context of its own (a context is not shared between threads)
// that lists the table when asked; the main loop takes the text at its next sweep.
struct NftablesBackend::Lister {
  std::mutex mu;
  std::condition_variable cv;
  bool asked = false, busy = false, stop = false;
  uint64_t asked_seq = 0;
  struct Ready {
    uint64_t seq;
    std::optional<std::string> text;  // nullopt: a failed read
    std::optional<ConnTally> conns;   // nullopt: a failed count (error says why)
    std::string error;
    bool counted = true;  // false once dump() took the count (the listing stays for the sweep)
  };
  std::optional<Ready> ready;
  nft_ctx* ctx = nullptr;
  std::thread thread;

  explicit Lister(nft_ctx* c) : ctx(c), thread([this] { run(); }) {}
  ~Lister() {
    {
      std::lock_guard<std::mutex> l(mu);
      stop = true;
    }
    cv.notify_all();
    thread.join();
    nft_ctx_free(ctx);
  }
  void ask(uint64_t seq) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (asked || busy) return;  // one at a time: the one under way answers
      asked = true;
      asked_seq = seq;
    }
    cv.notify_all();
  }
  void run() {
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      cv.wait(l, [this] { return asked || stop; });
      if (stop) return;
      asked = false;
      busy = true;
      const uint64_t seq = asked_seq;
      l.unlock();
      std::optional<std::string> text = list_table(ctx);
      std::string error;
      std::optional<ConnTally> conns = count_connections(&error);
      l.lock();
      busy = false;
      ready.emplace(Ready{seq, std::move(text), std::move(conns), std::move(error)});
      cv.notify_all();
    }
  }
};

NftablesBackend::NftablesBackend(nft_ctx* ctx) : ctx_(ctx) {}

ipvs::Result<std::unique_ptr<NftablesBackend>> NftablesBackend::open(ListingMode mode) {
  nft_ctx* ctx = new_context();
  if (!ctx) return ipvs::Error{"nftables: cannot create a libnftables context", 0};
  std::unique_ptr<NftablesBackend> b(new NftablesBackend(ctx));
  if (mode == ListingMode::background) {
    nft_ctx* own = new_context();
    if (!own) return ipvs::Error{"nftables: cannot create a libnftables context", 0};
    // Protocols as numbers: naming them takes libc's getprotobynumber(), whose one static
    // buffer the main thread's scripts share through getprotobyname() (TSan saw the race).
    nft_ctx_output_set_flags(own, nft_ctx_output_get_flags(own) | NFT_CTX_OUTPUT_NUMERIC_PROTO);
    b->lister_ = std::make_unique<Lister>(own);
  }
  if (auto err = b->run(base_script()); !err.empty())
    return ipvs::Error{"nftables: cannot create table " + table(Family::v4) + ": " + err, 0};
  // What a previous run left keeps forwarding; it is what we hold now (adopted: the real
  // servers in it start as up, as with IPVS).
  auto text = list_table(b->ctx_);
  if (!text) {
    return ipvs::Error{"nftables: cannot read table " + table(Family::v4) + " back to adopt it", 0};
  }
  const Listing l = parse_listing(*text);
  b->programmed_ = l.services;
  if (l.has6) {  // adopted: made6_ stays 0
    if (auto err = b->run(base_script(Family::v6)); !err.empty())
      return ipvs::Error{"nftables: cannot adopt table " + table(Family::v6) + ": " + err, 0};
    b->have6_ = true;
  }
  return b;
}

NftablesBackend::~NftablesBackend() {
  lister_.reset();
  nft_ctx_free(ctx_);
}

std::optional<std::string> NftablesBackend::take_listing(uint64_t& seq) {
  if (!lister_) {
    seq = writes_;
    std::string error;
    auto conns = count_connections(&error);
    take_count(std::move(conns), error, writes_);
    return list_table(ctx_);
  }
  std::optional<std::string> out;
  std::optional<Lister::Ready> got;
  {
    std::lock_guard<std::mutex> l(lister_->mu);
    if (lister_->ready) {
      got = std::move(lister_->ready);
      lister_->ready.reset();
    }
  }
  if (got) {
    seq = got->seq;
    out = std::move(got->text);
    if (got->counted) take_count(std::move(got->conns), got->error, got->seq);
  }
  // The next sweep's: asked for now, read while the loop goes on.
  lister_->ask(writes_);
  return out;
}

void NftablesBackend::take_count(std::optional<ConnTally> count, const std::string& error,
                                 uint64_t seq) {
  if (!count) {
    if (!count_failed_)
      HD_LOG(warning, "nftables") << error << ": real servers' connections not counted (a drain "
                                  << "ends at its timeout) until a count succeeds";
    count_failed_ = true;
    conns_.reset();
    return;
  }
  if (count_failed_) HD_LOG(info, "nftables") << "conntrack: connections counted again";
  count_failed_ = false;
  conns_ = std::move(count);
  count_seq_ = seq;
}

void NftablesBackend::refresh_count() {
  if (!lister_) {
    std::string error;
    auto conns = count_connections(&error);
    return take_count(std::move(conns), error, writes_);
  }
  std::optional<ConnTally> conns;
  std::string error;
  uint64_t seq = 0;
  bool got = false;
  {
    std::lock_guard<std::mutex> l(lister_->mu);
    if (lister_->ready && lister_->ready->counted) {
      conns = std::move(lister_->ready->conns);
      error = lister_->ready->error;
      seq = lister_->ready->seq;
      lister_->ready->counted = false;
      got = true;
    }
  }
  if (got) take_count(std::move(conns), error, seq);
  lister_->ask(writes_);
}

std::vector<ipvs::Destination> NftablesBackend::with_counts(const ipvs::Service& s) const {
  std::vector<ipvs::Destination> out = s.destinations;
  if (!conns_) return out;
  if (auto w = written_.find(s.key); w != written_.end() && w->second > count_seq_) return out;
  for (auto& d : out) {
    const ConnCount c = count_of(*conns_, s, d.key);
    auto counters = std::make_shared<ipvs::DestCounters>();
    counters->active_conns = c.active;
    counters->inactive_conns = c.inactive;
    counters->conntrack = true;
    d.counters = std::move(counters);
  }
  return out;
}

ipvs::Result<ipvs::Table> NftablesBackend::dump() {
  refresh_count();
  ipvs::Table out = programmed_;
  if (conns_)
    for (auto& [key, svc] : out) svc.destinations = with_counts(svc);
  return out;
}

void NftablesBackend::wait_for_listing() {
  if (!lister_) return;
  std::unique_lock<std::mutex> l(lister_->mu);
  lister_->cv.wait(l, [this] {
    return lister_->ready.has_value() || (!lister_->asked && !lister_->busy);
  });
}

bool nf_tables_loaded() {
  struct stat st {};
  return ::stat("/sys/module/nf_tables", &st) == 0;
}

std::string remove_leftover_table() {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) return "nftables: cannot create a libnftables context";
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  std::string out;
  for (Family f : {Family::v4, Family::v6}) {
    const std::string t = "table " + table(f);
    if (nft_run_cmd_from_buffer(ctx, ("list " + t).c_str()) != 0) {
      nft_ctx_get_error_buffer(ctx);
      continue;
    }
    if (!out.empty()) out += "; ";
    out += nft_run_cmd_from_buffer(ctx, ("delete " + t).c_str()) == 0
               ? "removed " + t + ", left by a run with dataplane = \"nftables\""
               : "cannot remove " + t + " left by a run with dataplane = \"nftables\": " +
                     std::string(nft_ctx_get_error_buffer(ctx));
    while (!out.empty() && out.back() == '\n') out.pop_back();
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

std::string NftablesBackend::list() { return list_table(ctx_).value_or(""); }

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
  // The first IPv6 service makes its table.
  bool make6 = false;
  for (auto& [k, svc] : next) make6 = make6 || (!have6_ && k.family() == Family::v6);
  if (auto err = run((make6 ? base_script(Family::v6) : "") + change_script(before, next));
      !err.empty()) {
    ipvs::Error e{"nftables: " + err, 0};
    for (auto& r : out)
      if (r) r = e;
    return out;
  }
  ++writes_;
  // The persistent servers' objects the change left behind, on their own (render.h).
  if (auto err = run(cleanup_script(before, next)); !err.empty())
    HD_LOG(warning, "nftables") << "removing persistent servers' chains and sets: " << err
                                << " (the drift sweep removes what is left)";
  if (make6) {
    have6_ = true;
    made6_ = writes_;
  }
  for (auto& k : touched) {
    written_[k] = writes_;
    if (auto it = next.find(k); it != next.end()) {
      programmed_[k] = std::move(it->second);
    } else {
      programmed_.erase(k);
    }
  }
  return out;
}

ipvs::Result<ipvs::Table> NftablesBackend::dump_services() {
  uint64_t seq = 0;
  auto listed = take_listing(seq);
  ipvs::Table out;
  auto keep = [&](const ipvs::Service& svc) {
    ipvs::Service s = svc;
    s.destinations.clear();
    out.emplace(s.key, std::move(s));
  };
  if (!listed) {  // no listing yet (background), or the read failed: nothing judged
    for (auto& [key, svc] : programmed_) keep(svc);
    return out;
  }
  const std::string& text = *listed;
  const Listing l = parse_listing(text);
  // Written since the listing was asked for: the listing may predate that write.
  auto since = [&](const ipvs::ServiceKey& key) {
    auto w = written_.find(key);
    return w != written_.end() && w->second > seq;
  };
  // The base chains first, on their own: no service's repair can hold them back. (Not on a
  // listing asked for before they were last put back: that one still shows the damage.)
  std::string base;
  const bool judge_base = base_written_ <= seq;
  if (!l.base && judge_base) {  // also makes the table and map when they are gone
    HD_LOG(warning, "nftables") << (text.empty() ? "table " + table(Family::v4) + " is gone"
                                                  : std::string("the base chains were changed"))
                                << ": put back";
    base += base_script();
  }
  if (have6_ && made6_ <= seq && judge_base && !l.base6) {
    HD_LOG(warning, "nftables") << (l.has6 ? "the base chains of table " + table(Family::v6) + " were changed"
                                           : "table " + table(Family::v6) + " is gone")
                                << ": put back";
    base += base_script(Family::v6);
  }
  if (auto err = run(base); !err.empty())
    return ipvs::Error{"nftables: putting the base chains back: " + err, 0};
  if (!base.empty()) base_written_ = ++writes_;
  // A service as written is listed as such. One that is not (its element, its chain or its
  // rule changed) has what is left of it removed and is not listed: the reconciler's plan
  // adds it again, whole. What nothing programmed is removed (the tables are ours alone).
  std::map<ipvs::ServiceKey, ipvs::Service> damaged;
  for (auto it = programmed_.begin(); it != programmed_.end();) {
    if (since(it->first) || holds(l, it->second)) {
      keep(it->second);
      ++it;
      continue;
    }
    const auto& key = it->first;
    if (!text.empty())  // a table gone whole was said once
      HD_LOG(warning, "nftables") << key.str() << ": " << difference(l, it->second).value_or("") << ": writing it again";
    damaged.emplace(key, std::move(it->second));
    it = programmed_.erase(it);
  }
  std::set<ipvs::ServiceKey> remove;
  for (auto& [key, svc] : damaged) remove.insert(key);
  auto stray = [&](const ipvs::ServiceKey& key) {
    if (programmed_.count(key) || damaged.count(key) || since(key) || !remove.insert(key).second) return;
    HD_LOG(warning, "nftables") << key.str() << ": in table " << table(key.family())
                                << " but not programmed by this daemon: removed";
  };
  for (auto& [key, chain] : l.elements) stray(key);
  for (auto& [key, svc] : l.services) stray(key);  // one a chain
  // Elements first (a chain another element still jumps to cannot go), then chains; each on
  // its own, so one that cannot be removed holds back no other.
  std::string failed;
  for (auto& key : remove) {
    if (!l.elements.count(key)) continue;
    const std::string err = run("delete element " + table(key.family()) + " services { " +
                                element_of(key) + " }\n");
    if (err.empty()) continue;
    failed = err;
    // Still in the kernel as it was: held as the listing has it, tried again next sweep.
    if (auto d = damaged.find(key); d != damaged.end()) {
      auto k = l.services.find(key);
      programmed_.emplace(key, k != l.services.end() ? k->second : d->second);
      keep(programmed_.at(key));
    }
  }
  for (auto& key : remove) {
    const std::string c = chain_name(key);
    if (!l.rules.count(c) || programmed_.count(key)) continue;
    const std::string t = table(key.family());
    if (auto err = run("flush chain " + t + " " + c + "\ndelete chain " + t + " " + c + "\n"); !err.empty())
      failed = err;  // the plan's add flushes it before writing its rule
  }
  // Persistent services' server chains and sets that no service held here names: those of the
  // services removed above, and any other left over (chains first: they update the sets).
  std::set<std::string> expected;
  for (auto& [key, svc] : programmed_) {
    if (!(svc.flags & ipvs::kPersistent)) continue;
    const ServiceObjects o = service_objects(svc);
    for (auto& [name, rules] : o.chains) expected.insert(name);
    for (auto& [name, def] : o.sets) expected.insert(name);
  }
  auto leftover = [&](const std::string& name) -> std::optional<ipvs::ServiceKey> {
    auto owner = persist_owner(name);
    if (!owner || expected.count(name) || since(owner->first)) return std::nullopt;
    return owner->first;
  };
  for (auto& [name, rules] : l.chains)
    if (auto key = leftover(name)) {
      const std::string t = table(key->family());
      if (auto err = run("flush chain " + t + " " + name + "\ndelete chain " + t + " " + name + "\n"); !err.empty())
        failed = err;
      remove.insert(*key);
    }
  for (auto& name : l.sets)
    if (auto key = leftover(name)) {
      if (auto err = run("delete set " + table(key->family()) + " " + name + "\n"); !err.empty()) failed = err;
      remove.insert(*key);
    }
  ++writes_;
  for (auto& key : remove) written_[key] = writes_;
  if (!failed.empty())
    HD_LOG(warning, "nftables") << "the drift repair could not remove everything (" << failed
                                << "): the next sweep tries again";
  return out;
}

ipvs::Result<std::vector<ipvs::Destination>> NftablesBackend::dump_destinations(
    const ipvs::ServiceKey& key) {
  auto it = programmed_.find(key);
  if (it == programmed_.end()) return std::vector<ipvs::Destination>{};
  return with_counts(it->second);
}

ipvs::Result<void> NftablesBackend::set_timeouts(const ipvs::Timeouts&) {
  return ipvs::Error{"nftables data plane: IPVS timeouts do not apply (conntrack's do)", 0};
}
ipvs::Result<void> NftablesBackend::start_sync_daemon(const ipvs::SyncDaemon&) {
  return ipvs::Error{"nftables data plane: no IPVS sync daemon (conntrackd syncs conntrack)", 0};
}
ipvs::Result<void> NftablesBackend::stop_sync_daemon(ipvs::SyncState) { return {}; }

ipvs::Result<void> NftablesBackend::remove_table() {
  // Both, whatever the first answers (one deleted by hand leaves the other to go).
  std::string err = run("delete table " + table(Family::v4) + "\n");
  if (have6_)
    if (auto e6 = run("delete table " + table(Family::v6) + "\n"); err.empty()) err = e6;
  have6_ = false;
  ++writes_;
  for (auto& [key, svc] : programmed_) written_[key] = writes_;
  programmed_.clear();
  if (!err.empty()) return ipvs::Error{"nftables: " + err, 0};
  return {};
}

}  // namespace hd::nft
