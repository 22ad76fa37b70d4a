// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/backend.h"

#include <cerrno>
#include <cstring>

namespace hd::ipvs {
namespace {

// What IPVS's errno values mean for each kind of operation.
std::string_view hint(OpKind k, int err) {
  bool service_op = k == OpKind::add_service || k == OpKind::edit_service;
  switch (err) {
    case ESRCH:
      return "no such service";
    case ENOENT:
      return service_op ? "no such scheduler or persistence engine (module not loaded?)"
                        : "no such destination";
    case EEXIST:
      return "already exists";
    case EINVAL:
      return "rejected by the kernel as invalid";
    case EPERM:
      return "needs CAP_NET_ADMIN";
    case EAFNOSUPPORT:
      return "address family not supported (no IPv6?)";
    default:
      return {};
  }
}

}  // namespace

std::string_view to_string(SyncState s) {
  return s == SyncState::master ? "master" : "backup";
}

Result<Table> Backend::dump_services() {
  auto t = dump();
  if (!t) return t.error();
  for (auto& [key, svc] : *t) svc.destinations.clear();
  return t;
}

Result<std::vector<Destination>> Backend::dump_destinations(const ServiceKey& key) {
  auto t = dump();
  if (!t) return t.error();
  auto it = t->find(key);
  if (it == t->end()) return std::vector<Destination>{};
  return std::move(it->second.destinations);
}

std::vector<Result<void>> Backend::apply_all(const std::vector<Operation>& ops) {
  std::vector<Result<void>> out;
  out.reserve(ops.size());
  for (const auto& op : ops) out.push_back(apply(op));
  return out;
}

Error operation_error(const Operation& op, int err, std::string_view detail) {
  std::string msg = describe(op) + ": " + std::strerror(err);
  std::string_view h = detail.empty() ? hint(kind(op), err) : detail;
  if (!h.empty()) msg += " (" + std::string(h) + ")";
  return Error{std::move(msg), err};
}

}  // namespace hd::ipvs
