// SPDX-License-Identifier: GPL-2.0-or-later
#include "ipvs/operation.h"

namespace hd::ipvs {

std::string_view to_string(OpKind k) {
  static constexpr std::array<std::string_view, kOpKinds> kNames = {
      "add_service", "edit_service", "del_service", "add_dest", "edit_dest", "del_dest"};
  return kNames[static_cast<size_t>(k)];
}

const ServiceKey& service_of(const Operation& op) {
  struct Visitor {
    const ServiceKey& operator()(const AddService& o) const { return o.service.key; }
    const ServiceKey& operator()(const EditService& o) const { return o.service.key; }
    const ServiceKey& operator()(const DelService& o) const { return o.key; }
    const ServiceKey& operator()(const AddDest& o) const { return o.service; }
    const ServiceKey& operator()(const EditDest& o) const { return o.service; }
    const ServiceKey& operator()(const DelDest& o) const { return o.service; }
  };
  return std::visit(Visitor{}, op);
}

std::string describe(const Operation& op) {
  struct Visitor {
    std::string operator()(const AddService& o) const { return "add service " + o.service.str(); }
    std::string operator()(const EditService& o) const { return "edit service " + o.service.str(); }
    std::string operator()(const DelService& o) const { return "delete service " + o.key.str(); }
    std::string operator()(const AddDest& o) const {
      return "add destination " + o.dest.str() + " to " + o.service.str();
    }
    std::string operator()(const EditDest& o) const {
      return "edit destination " + o.dest.str() + " in " + o.service.str();
    }
    std::string operator()(const DelDest& o) const {
      return "delete destination " + o.dest.str() + " from " + o.service.str();
    }
  };
  return std::visit(Visitor{}, op);
}

}  // namespace hd::ipvs
