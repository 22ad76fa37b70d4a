// SPDX-License-Identifier: GPL-2.0-or-later
// One change to the kernel's IPVS table, as a value. diff.h computes a list of
// these; a Backend executes them one by one (or in a batch).
#pragma once
#include <array>
#include <string>
#include <string_view>
#include <variant>

#include "ipvs/model.h"

namespace hd::ipvs {

// The service's settings; its destinations are not part of the operation.
struct AddService {
  Service service;
  friend bool operator==(const AddService&, const AddService&) = default;
};
struct EditService {
  Service service;
  friend bool operator==(const EditService&, const EditService&) = default;
};
struct DelService {  // removes the service's destinations with it
  ServiceKey key;
  friend bool operator==(const DelService&, const DelService&) = default;
};
struct AddDest {
  ServiceKey service;
  Destination dest;
  friend bool operator==(const AddDest&, const AddDest&) = default;
};
struct EditDest {  // weight, thresholds, forwarding method, tunnel settings
  ServiceKey service;
  Destination dest;
  friend bool operator==(const EditDest&, const EditDest&) = default;
};
struct DelDest {
  ServiceKey service;
  DestKey dest;
  friend bool operator==(const DelDest&, const DelDest&) = default;
};

using Operation = std::variant<AddService, EditService, DelService, AddDest, EditDest, DelDest>;

// The variant's alternatives, in order: an index for counters.
enum class OpKind : uint8_t {
  add_service,
  edit_service,
  del_service,
  add_dest,
  edit_dest,
  del_dest
};
inline constexpr size_t kOpKinds = 6;
inline OpKind kind(const Operation& op) {
  return static_cast<OpKind>(op.index());
}
std::string_view to_string(OpKind k);  // "add_service", ...

// The service an operation acts on.
const ServiceKey& service_of(const Operation& op);

// One line for logs: "add service TCP 10.0.0.1:80 wrr",
// "edit destination 10.0.0.2:80 nat w5 in TCP 10.0.0.1:80".
std::string describe(const Operation& op);

}  // namespace hd::ipvs
