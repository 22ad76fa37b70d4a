// SPDX-License-Identifier: GPL-2.0-or-later
// LvsSubsystem's read side: its part of `status` (JSON whole or in steps, text) and its
// /healthz verdict. The metrics families are in lvs_metrics.cpp.
#include "daemon/lvs_subsystem.h"

#include "core/json.h"

namespace hd {

void LvsSubsystem::status(JsonWriter& w) const {
  std::vector<JsonStep> steps;
  status_steps(steps);
  run_all(steps, w);
}

void LvsSubsystem::status_steps(std::vector<JsonStep>& out) const {
  out.push_back([](JsonWriter& w) {
    w.key("checkers");
    return true;
  });
  if (checker_)
    checker_->status_steps(out);
  else
    out.push_back([](JsonWriter& w) {
      w.null();
      return true;
    });
  // The services by index into specs_, 50 a step; a reload between steps may shift them
  // (the next step goes on at the same index of the new list).
  auto next = std::make_shared<size_t>(0);
  auto head = std::make_shared<bool>(false);
  out.push_back([this, next, head](JsonWriter& w) {
    if (!*head) {
      *head = true;
      w.key("ipvs").begin_object();
      w.field("dataplane", kernel_ ? config::to_string(global_.dataplane) : "none");
      w.key("services").begin_array();
    }
    for (size_t n = 0; *next < specs_.size() && n < 50; ++*next, ++n)
      write_service_status(w, specs_[*next]);
    return *next >= specs_.size();
  });
  out.push_back([this](JsonWriter& w) {
    write_ipvs_status_tail(w);
    return true;
  });
}

void LvsSubsystem::write_service_status(JsonWriter& w, const ipvs::VirtualServiceSpec& spec) const {
  // The kernel's table as the last reconcile saw it (see last_sync), not a fresh dump:
  // a dump costs a netlink round trip per service, too much for every status request.
  const std::optional<ipvs::Table> none;
  const std::optional<ipvs::Table>& kernel = reconciler_ ? reconciler_->known() : none;
  w.begin_object();
  w.field("service", spec.key.str());
  auto q = quorum_.find(spec.key);
  if (q != quorum_.end()) {
    w.field("quorum_up", q->second.up).field("live_weight", q->second.live_weight);
  }
  auto dests = [&](const ipvs::Service* s) {
    w.begin_array();
    if (s)
      for (auto& d : s->destinations) w.value(d.str());
    w.end_array();
  };
  const ipvs::Service* desired = find_service(desired_, spec.key);
  w.key("desired");
  dests(desired);
  w.key("kernel");
  if (kernel) {
    const ipvs::Service* in_kernel = find_service(*kernel, spec.key);
    dests(in_kernel);
    w.field("in_sync", in_sync(desired, in_kernel));
  } else {
    w.null();
  }
  w.end_object();
}

void LvsSubsystem::write_ipvs_status_tail(JsonWriter& w) const {
  w.end_array();
  if (reconciler_) {
    const auto& c = reconciler_->counters();
    w.key("operations").begin_object();
    for (size_t k = 0; k < ipvs::kOpKinds; ++k)
      w.field(ipvs::to_string(static_cast<ipvs::OpKind>(k)), c.applied[k]);
    w.end_object();
    w.field("operation_errors", c.op_errors).field("dump_errors", c.dump_errors);
    w.field("reconciles", c.reconciles).field("foreign_services", c.foreign_services);
    w.field("last_sync", last_sync_wall_);
    // The last reconcile: how many services it compared (a health change: its own) and
    // how many operations it planned.
    w.key("last_reconcile").begin_object();
    w.field("services", last_report_ ? last_report_->services : 0);
    w.field("planned", last_report_ ? last_report_->planned : 0);
    w.end_object();
    w.key("last_errors").begin_array();
    if (last_report_)
      for (auto& e : last_report_->errors) w.value(e.message);
    w.end_array();
  }
  w.key("sync_daemon");
  if (sync_master_ || sync_backup_) {
    w.begin_object();
    // "master" once this director has been MASTER (the role then stays), else "backup".
    w.field("state", sync_master_ ? "master" : "backup");
    w.key("roles").begin_array();
    if (sync_master_) w.value("master");
    if (sync_backup_) w.value("backup");
    w.end_array();
    w.field("interface", global_.lvs_sync_daemon->interface);
    w.end_object();
  } else {
    w.null();
  }
  w.key("conntrackd");
  if (conntrackd_)
    conntrackd_->status(w);
  else
    w.null();
  w.key("handover_forwarding");
  if (handover_)
    handover_->status(w);
  else
    w.null();
  w.field("health_changes", health_changes_);
  w.end_object();
}

std::string LvsSubsystem::unhealthy() const {
  if (!running_ || !reconciler_) return "";
  const auto& known = reconciler_->known();
  if (!known)
    return "the kernel's IPVS table is not known (not read yet, or an operation failed since "
           "the last read): the next reconcile reads it";
  for (auto& spec : specs_)
    if (!in_sync(find_service(desired_, spec.key), find_service(*known, spec.key)))
      return spec.key.str() + " differs in the kernel from the desired table";
  return "";
}

void LvsSubsystem::status_text(std::string& out) const {
  if (!checker_) return;
  for (auto& id : checker_->ids()) {
    auto* st = checker_->state(id);
    out += "real server " + id + " " + (st && st->up() ? "UP" : "DOWN");
    if (st && st->last_result()) out += " (" + st->last_result()->to_string() + ")";
    out += "\n";
  }
  for (auto& [key, svc] : desired_) {
    out += "ipvs " + svc.str() + (kernel_ ? "" : " (dataplane none: not programmed)") + "\n";
    for (auto& d : svc.destinations) out += "  -> " + d.str() + "\n";
  }
}

}  // namespace hd
