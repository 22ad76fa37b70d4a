// SPDX-License-Identifier: GPL-2.0-or-later
// The nftables data plane (dataplane = "nftables"): an ipvs::Backend, so the reconciler, the
// desired state (health, quorum, sorry server, slow start, drain) and the diff are the ones
// IPVS uses; this backend turns the operations into nftables rules (render.h) applied
// through libnftables as one transaction per apply_all().
//
// open() keeps the table a previous run left and reads it back (render.h parse_table): a
// restart adopts it and changes nothing in the kernel. After that, what it holds is what it
// programmed: dump() returns that; the drift sweep's dump_services() reads the kernel and
// reports what differs, so a change made to the table by hand is repaired. Timeouts and the sync daemon are IPVS's: the loader
// refuses them here.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "ipvs/backend.h"
#include "nftables/conntrack.h"

struct nft_ctx;

namespace hd::nft {

// Whether the kernel has nf_tables loaded (/sys/module/nf_tables): asking it anything would
// load it otherwise.
bool nf_tables_loaded();
// Deletes `table ip hadirector` if there is one: a daemon that no longer programs nftables
// (its config changed across a restart). "" when there was none; else what was done or
// what failed, for the log.
std::string remove_leftover_table();

// How the drift sweep reads the table. Listing it costs libnftables ~200 ms at 1,000 services
// x 10 (bench/nftables), too long for the main loop: the daemon lists in a thread of the
// backend's own (background), and each sweep compares the listing the previous one asked
// for, skipping the services written since it was asked for (the next sweep sees them).
// Tests and benchmarks list where they call (direct).
enum class ListingMode { direct, background };

class NftablesBackend final : public ipvs::Backend {
 public:
  // Creates the table, or adopts the one a previous run left; an error when libnftables or
  // the kernel refuses (no nf_tables, no CAP_NET_ADMIN).
  static ipvs::Result<std::unique_ptr<NftablesBackend>> open(
      ListingMode mode = ListingMode::direct);
  ~NftablesBackend() override;

  ipvs::Result<void> apply(const ipvs::Operation& op) override;
  std::vector<ipvs::Result<void>> apply_all(const std::vector<ipvs::Operation>& ops) override;
  // What it programmed, with the connection counts (dump_destinations); asks for a fresh count
  // (background: the lister's next; direct: now).
  ipvs::Result<ipvs::Table> dump() override;
  // The drift check (LvsSubsystem's sweep): reads the tables back (ListingMode) and compares
  // each service with what was programmed, by what its rule does. A service as written is
  // listed as programmed; one that is not (its map element, chain or rule changed) has what
  // is left of it removed and is not listed, so the reconciler's plan adds it again whole.
  // The base chains (or a deleted table) are put back at once; chains and elements nothing
  // programmed are removed (the tables are ours alone). Each repair is logged.
  ipvs::Result<ipvs::Table> dump_services() override;
  // What it programmed, each real server with its connections as conntrack counted them when
  // the sweep's listing was read (ConnTally; none while no count succeeded, and none for a
  // service written since that count was asked for: a drain's weight 0 is not judged on a
  // count that may predate it).
  ipvs::Result<std::vector<ipvs::Destination>> dump_destinations(const ipvs::ServiceKey& key) override;
  ipvs::Result<void> set_timeouts(const ipvs::Timeouts&) override;
  ipvs::Result<void> start_sync_daemon(const ipvs::SyncDaemon&) override;
  ipvs::Result<void> stop_sync_daemon(ipvs::SyncState) override;
  // Removes the table (a stop with ipvs_on_stop = "remove", and tests).
  ipvs::Result<void> remove_table();

  // Runs `script` as one transaction: "" or nft's error text.
  std::string run(const std::string& script);
  // `nft list table ip hadirector` as nft prints it ("" when there is none): tests, debugging.
  std::string list();
  // Background mode: waits until the listing the last sweep asked for is there (tests).
  void wait_for_listing();

 private:
  struct Lister;
  explicit NftablesBackend(nft_ctx* ctx);
  // The sweep's listing: inline, or the one the lister has ready (nullopt: none yet; one is
  // asked for). `seq`: writes_ when it was asked for.
  std::optional<std::string> take_listing(uint64_t& seq);
  // `seq`: writes_ when the count was asked for.
  void take_count(std::optional<ConnTally> count, const std::string& error, uint64_t seq);
  void refresh_count();
  std::vector<ipvs::Destination> with_counts(const ipvs::Service& s) const;
  nft_ctx* ctx_;
  std::unique_ptr<Lister> lister_;
  bool have6_ = false;                            // ip6 hadirector made (or adopted)
  uint64_t made6_ = 0;                            // writes_ when this backend made it
  uint64_t base_written_ = 0;                     // writes_ when the sweep last put base chains back
  uint64_t writes_ = 0;                            // transactions applied
  std::map<ipvs::ServiceKey, uint64_t> written_;  // a service -> writes_ at its last write
  ipvs::Table programmed_;
  std::optional<ConnTally> conns_;  // the last conntrack count
  uint64_t count_seq_ = 0;          // writes_ when it was asked for
  bool count_failed_ = false;        // said once, until one succeeds again
};

}  // namespace hd::nft
