// SPDX-License-Identifier: GPL-2.0-or-later
// LvsSubsystem's Prometheus families (docs/metrics.md), written in slices (metrics::Step).
#include "daemon/lvs_subsystem.h"

namespace hd {

void LvsSubsystem::metrics(metrics::Writer& w) const {
  metrics::Steps steps;
  metrics_steps(steps);
  metrics::run_all(steps, w);
}

LvsSubsystem::ServiceLabels LvsSubsystem::labels_of(const ipvs::VirtualServiceSpec& spec) {
  ServiceLabels l{spec.key.str(), {}};
  l.rs.reserve(spec.reals.size());
  for (auto& real : spec.reals) l.rs.push_back(real.dest.key.str());
  return l;
}

void LvsSubsystem::refresh_metric_labels() {
  ++metrics_gen_;
  labels_.clear();
  labels_.reserve(specs_.size());
  for (auto& spec : specs_) labels_.push_back(labels_of(spec));
}

// The families in slices (metrics::Step): a slice reads the current state by index into
// specs_ (and labels_, parallel to it), looking the desired and kernel services up again, so
// no pointer is kept across main-loop turns; a reload or a stop makes the scrape start over.
void LvsSubsystem::metrics_steps(metrics::Steps& out) const {
  if (!running_) return;
  const uint64_t gen = metrics_gen_;
  auto valid = [this, gen] { return running_ && metrics_gen_ == gen; };
  if (checker_) checker_->metrics_steps(out, valid);
  constexpr size_t kServicesPerStep = 30;  // about 300 real servers: well under a millisecond
  using W = metrics::Writer;
  auto count = [this] { return specs_.size(); };
  auto desired_of = [this](size_t i) { return find_service(desired_, specs_[i].key); };
  auto kernel_of = [this](size_t i) -> const ipvs::Service* {
    if (!reconciler_ || !reconciler_->known()) return nullptr;
    return find_service(*reconciler_->known(), specs_[i].key);
  };
  auto kernel_known = [this] { return reconciler_ && reconciler_->known().has_value(); };
  auto family = [&](auto header, auto body) {
    out.push_back(metrics::indexed_family(count, kServicesPerStep, valid, header, body));
  };
  family(
      [](W& w) {
        w.gauge("hadirector_lvs_quorum_up",
                "1 while the virtual server has quorum (or none is configured), 0 when lost.");
      },
      [this](W& w, size_t i) {
        auto q = quorum_.find(specs_[i].key);
        w.sample({{"vs", labels_[i].vs}}, q == quorum_.end() || q->second.up ? 1 : 0);
      });
  family([](W& w) { w.gauge("hadirector_lvs_sorry_server_active", "1 while the sorry server takes the traffic."); },
         [this, desired_of](W& w, size_t i) {
           const auto& spec = specs_[i];
           if (!spec.sorry) return;
           const ipvs::Service* d = desired_of(i);
           w.sample({{"vs", labels_[i].vs}}, d && d->find(spec.sorry->key) ? 1 : 0);
         });
  family(
      [](W& w) {
        w.gauge("hadirector_lvs_real_servers",
                "Real servers of the virtual server: desired (config and health) and in the "
                "kernel.");
      },
      [this, desired_of, kernel_of, kernel_known](W& w, size_t i) {
        const ipvs::Service* d = desired_of(i);
        w.sample({{"vs", labels_[i].vs}, {"table", "desired"}}, d ? d->destinations.size() : 0);
        if (kernel_known()) {
          const ipvs::Service* k = kernel_of(i);
          w.sample({{"vs", labels_[i].vs}, {"table", "kernel"}}, k ? k->destinations.size() : 0);
        }
      });
  // Per real server: sliced by real servers, so a virtual server with thousands is sliced too.
  constexpr size_t kRealsPerStep = 300;
  auto reals_of = [this](size_t i) { return specs_[i].reals.size(); };
  auto real_family = [&](auto header, auto row, auto item) {
    out.push_back(
        metrics::nested_family(count, reals_of, kRealsPerStep, valid, header, row, item));
  };
  real_family([](W& w) { w.gauge("hadirector_lvs_real_server_up", "1 when the real server's check holds it up."); },
              [](size_t) { return 0; },
              [this](W& w, size_t i, size_t j, int) {
                auto h = health_.find(specs_[i].reals[j].id);
                w.sample({{"vs", labels_[i].vs}, {"rs", labels_[i].rs[j]}},
                         h == health_.end() || h->second.up ? 1 : 0);
              });
  struct Indexes {
    ipvs::DestIndex desired, kernel;
  };
  real_family(
      [](W& w) {
        w.gauge("hadirector_lvs_real_server_weight",
                "The real server's weight: configured, desired (health, slow start, overrides) "
                "and in the kernel (absent when not there).");
      },
      [desired_of, kernel_of](size_t i) {
        auto x = std::make_shared<Indexes>();
        if (const ipvs::Service* d = desired_of(i)) x->desired = index_destinations(*d);
        if (const ipvs::Service* k = kernel_of(i)) x->kernel = index_destinations(*k);
        return x;
      },
      [this](W& w, size_t i, size_t j, const std::shared_ptr<Indexes>& x) {
        const ipvs::RealSpec& real = specs_[i].reals[j];
        const std::string& vs = labels_[i].vs;
        const std::string& rs = labels_[i].rs[j];
        w.sample({{"vs", vs}, {"rs", rs}, {"weight", "configured"}}, real.dest.weight);
        auto d = x->desired.find(real.dest.key);
        w.sample({{"vs", vs}, {"rs", rs}, {"weight", "desired"}},
                 d == x->desired.end() ? 0 : d->second->weight);
        if (auto k = x->kernel.find(real.dest.key); k != x->kernel.end())
          w.sample({{"vs", vs}, {"rs", rs}, {"weight", "kernel"}}, k->second->weight);
      });
  if (!reconciler_) return;
  // The kernel's own counters, as the last full reconcile's dump read them (so up to
  // reconcile_interval old): what `ipvsadm -L -n --stats --exact` prints. Rates are left to
  // PromQL's rate() over the totals.
  // Per kernel destination (what the last dump read), sliced the same way.
  auto dests_of = [kernel_of](size_t i) -> size_t {
    const ipvs::Service* k = kernel_of(i);
    return k ? k->destinations.size() : 0;
  };
  auto dest_family = [&](auto header, auto write) {
    out.push_back(metrics::nested_family(
        count, dests_of, kRealsPerStep, valid, header, kernel_of,
        [this, write](W& w, size_t i, size_t j, const ipvs::Service* k) {
          if (!k || j >= k->destinations.size()) return;
          const auto& d = k->destinations[j];
          if (d.counters) write(w, labels_[i].vs, d.key.str(), *d.counters);
        }));
  };
  using C = ipvs::DestCounters;
  dest_family(
      [](W& w) {
        w.gauge("hadirector_ipvs_real_server_connections",
                "The kernel's connection entries for the real server, by state.");
      },
      [](W& w, const std::string& vs, const std::string& rs, const C& c) {
        w.sample({{"vs", vs}, {"rs", rs}, {"state", "active"}}, c.active_conns);
        w.sample({{"vs", vs}, {"rs", rs}, {"state", "inactive"}}, c.inactive_conns);
        if (!c.conntrack) w.sample({{"vs", vs}, {"rs", rs}, {"state", "persistent"}}, c.persistent_conns);
      });
  dest_family(
      [](W& w) {
        w.counter("hadirector_ipvs_real_server_connections_total",
                  "Connections the kernel scheduled to the real server.");
      },
      [](W& w, const std::string& vs, const std::string& rs, const C& c) {
        if (!c.conntrack) w.sample({{"vs", vs}, {"rs", rs}}, static_cast<double>(c.stats.conns));
      });
  dest_family(
      [](W& w) {
        w.counter("hadirector_ipvs_real_server_packets_total",
                  "Packets through the director for the real server (in: from clients).");
      },
      [](W& w, const std::string& vs, const std::string& rs, const C& c) {
        if (c.conntrack) return;  // not known (nftables)
        w.sample({{"vs", vs}, {"rs", rs}, {"direction", "in"}}, static_cast<double>(c.stats.inpkts));
        w.sample({{"vs", vs}, {"rs", rs}, {"direction", "out"}}, static_cast<double>(c.stats.outpkts));
      });
  dest_family(
      [](W& w) {
        w.counter("hadirector_ipvs_real_server_bytes_total",
                  "Bytes through the director for the real server (in: from clients).");
      },
      [](W& w, const std::string& vs, const std::string& rs, const C& c) {
        if (c.conntrack) return;  // not known (nftables)
        w.sample({{"vs", vs}, {"rs", rs}, {"direction", "in"}}, static_cast<double>(c.stats.inbytes));
        w.sample({{"vs", vs}, {"rs", rs}, {"direction", "out"}}, static_cast<double>(c.stats.outbytes));
      });
  family([](W& w) { w.counter("hadirector_ipvs_service_connections_total", "Connections the kernel scheduled for the service."); },
         [this, kernel_of](W& w, size_t i) {
           const ipvs::Service* k = kernel_of(i);
           if (k && k->stats) w.sample({{"vs", labels_[i].vs}}, static_cast<double>(k->stats->conns));
         });
  family([](W& w) { w.counter("hadirector_ipvs_service_packets_total", "Packets of the service (in: from clients)."); },
         [this, kernel_of](W& w, size_t i) {
           const ipvs::Service* k = kernel_of(i);
           if (!k || !k->stats) return;
           w.sample({{"vs", labels_[i].vs}, {"direction", "in"}}, static_cast<double>(k->stats->inpkts));
           w.sample({{"vs", labels_[i].vs}, {"direction", "out"}}, static_cast<double>(k->stats->outpkts));
         });
  family([](W& w) { w.counter("hadirector_ipvs_service_bytes_total", "Bytes of the service (in: from clients)."); },
         [this, kernel_of](W& w, size_t i) {
           const ipvs::Service* k = kernel_of(i);
           if (!k || !k->stats) return;
           w.sample({{"vs", labels_[i].vs}, {"direction", "in"}}, static_cast<double>(k->stats->inbytes));
           w.sample({{"vs", labels_[i].vs}, {"direction", "out"}}, static_cast<double>(k->stats->outbytes));
         });
  out.push_back([this, valid](W& w) {
    if (!valid() || !reconciler_) return metrics::StepResult::stale;
    const auto& c = reconciler_->counters();
    w.counter("hadirector_ipvs_reconciles_total", "Reconciles of the kernel's IPVS table.");
    w.sample(static_cast<double>(c.reconciles));
    w.histogram("hadirector_ipvs_reconcile_duration_seconds",
                "Main-loop time a reconcile took (diff and netlink operations).");
    w.observe({}, reconcile_seconds_);
    w.counter("hadirector_ipvs_operations_total", "IPVS operations applied, by kind.");
    for (size_t k = 0; k < ipvs::kOpKinds; ++k)
      w.sample({{"kind", ipvs::to_string(static_cast<ipvs::OpKind>(k))}},
               static_cast<double>(c.applied[k]));
    w.counter("hadirector_ipvs_operation_errors_total", "IPVS operations the kernel refused.");
    w.sample(static_cast<double>(c.op_errors));
    w.counter("hadirector_ipvs_dump_errors_total", "Failed reads of the kernel's IPVS table.");
    w.sample(static_cast<double>(c.dump_errors));
    w.gauge("hadirector_ipvs_last_sync_time_seconds",
            "When a reconcile last left the kernel's table as desired (Unix time; 0: never).");
    w.sample(last_sync_wall_);
    return metrics::StepResult::done;
  });
  family(
      [](W& w) {
        w.gauge("hadirector_ipvs_in_sync",
                "1 when the kernel's table, as last read, is the desired one.");
      },
      [this, desired_of, kernel_of, kernel_known](W& w, size_t i) {
        if (kernel_known())
          w.sample({{"vs", labels_[i].vs}}, in_sync(desired_of(i), kernel_of(i)) ? 1 : 0);
      });
}

}  // namespace hd
