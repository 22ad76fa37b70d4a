// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/overrides.h"

#include <toml++/toml.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/address.h"
#include "core/log.h"

namespace hd {

const char* to_string(RealOverride::Mode m) {
  switch (m) {
    case RealOverride::Mode::none: return "none";
    case RealOverride::Mode::drain: return "drain";
    case RealOverride::Mode::drained: return "drained";
    case RealOverride::Mode::maint: return "maint";
  }
  return "?";
}

const char* to_string(InstanceHold::Mode m) {
  return m == InstanceHold::Mode::failover ? "failover" : "hold";
}

namespace {

std::optional<RealOverride::Mode> parse_mode(std::string_view s) {
  for (auto m : {RealOverride::Mode::none, RealOverride::Mode::drain, RealOverride::Mode::drained,
                 RealOverride::Mode::maint})
    if (s == to_string(m)) return m;
  return std::nullopt;
}

bool empty(const RealOverride& o) { return o.mode == RealOverride::Mode::none && !o.weight; }

}  // namespace

std::string describe(const RealOverride& o) {
  std::string out = o.mode == RealOverride::Mode::none ? "" : to_string(o.mode);
  if (o.weight) out += (out.empty() ? "weight " : ", weight ") + std::to_string(*o.weight);
  return out.empty() ? "none" : out;
}

namespace {

}  // namespace

std::string Overrides::format(const Data& data) {
  toml::array list;
  for (const auto& [id, o] : data.reals) {
    toml::table t;
    t.insert("real_server", id);
    t.insert("mode", std::string(to_string(o.mode)));
    if (o.deadline) t.insert("deadline", *o.deadline);
    if (o.weight) t.insert("weight", int64_t{*o.weight});
    if (!o.reason.empty()) t.insert("reason", o.reason);
    t.insert("by", o.by);
    t.insert("at", o.at);
    list.push_back(std::move(t));
  }
  toml::array holds;
  for (const auto& [name, h] : data.holds) {
    toml::table t;
    t.insert("vrrp_instance", name);
    t.insert("mode", std::string(to_string(h.mode)));
    t.insert("by", h.by);
    t.insert("at", h.at);
    holds.push_back(std::move(t));
  }
  toml::array withdrawals;
  for (const auto& [address, w] : data.withdrawals) {
    toml::table t;
    t.insert("address", address);
    t.insert("by", w.by);
    t.insert("at", w.at);
    withdrawals.push_back(std::move(t));
  }
  toml::table root;
  root.insert("real_server", std::move(list));
  root.insert("vrrp_instance", std::move(holds));
  if (!withdrawals.empty()) root.insert("anycast", std::move(withdrawals));
  std::ostringstream out;
  out << "# hadirector's runtime overrides (hadirector ctl): written by the daemon on every\n"
         "# change. Change them with hadirector ctl, not by editing this file.\n"
      << root << "\n";
  return out.str();
}

std::optional<Overrides::Data> Overrides::parse(const std::string& text, const std::string& source,
                                                std::string& error) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream m;
    m << source << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
      << e.description();
    error = m.str();
    return std::nullopt;
  }
  Data data;
  Reals& out = data.reals;
  auto* list = root["real_server"].as_array();
  toml::array none;
  for (auto& node : list ? *list : none) {
    auto bad = [&](const std::string& why) {
      std::ostringstream m;
      m << source << ":" << node.source().begin.line << ": " << why;
      error = m.str();
      return std::nullopt;
    };
    auto* t = node.as_table();
    if (!t) return bad("a real_server entry must be a table");
    auto id = (*t)["real_server"].value<std::string>();
    auto mode = parse_mode((*t)["mode"].value_or(std::string("?")));
    if (!id || id->empty() || !mode) return bad("a real_server entry needs real_server and mode");
    RealOverride o;
    o.mode = *mode;
    if (auto d = (*t)["deadline"].value<double>()) {
      if (!std::isfinite(*d)) return bad("deadline must be a time");
      o.deadline = *d;
    }
    if (auto w = (*t)["weight"].value<int64_t>()) {
      if (*w < 0 || *w > 65535) return bad("weight must be from 0 to 65535");
      o.weight = static_cast<int>(*w);
    }
    o.reason = (*t)["reason"].value_or(std::string());
    o.by = (*t)["by"].value_or(std::string());
    o.at = (*t)["at"].value_or(0.0);
    if (!std::isfinite(o.at)) return bad("at must be a time");
    if (!empty(o)) out[*id] = o;
  }
  auto* holds = root["vrrp_instance"].as_array();
  for (auto& node : holds ? *holds : none) {
    std::ostringstream m;
    m << source << ":" << node.source().begin.line << ": ";
    auto* t = node.as_table();
    auto name = t ? (*t)["vrrp_instance"].value<std::string>() : std::nullopt;
    auto mode = t ? (*t)["mode"].value<std::string>() : std::nullopt;
    if (!name || name->empty() || !mode || (*mode != "hold" && *mode != "failover")) {
      error = m.str() + "a vrrp_instance entry needs vrrp_instance and mode (hold, failover)";
      return std::nullopt;
    }
    InstanceHold h;
    h.mode = *mode == "failover" ? InstanceHold::Mode::failover : InstanceHold::Mode::hold;
    h.by = (*t)["by"].value_or(std::string());
    h.at = (*t)["at"].value_or(0.0);
    if (!std::isfinite(h.at)) {
      error = m.str() + "at must be a time";
      return std::nullopt;
    }
    data.holds[*name] = h;
  }
  auto* withdrawals = root["anycast"].as_array();
  for (auto& node : withdrawals ? *withdrawals : none) {
    std::ostringstream m;
    m << source << ":" << node.source().begin.line << ": ";
    auto* t = node.as_table();
    auto address = t ? (*t)["address"].value<std::string>() : std::nullopt;
    auto parsed = address ? IpAddress::parse(*address) : std::nullopt;
    if (!parsed) {
      error = m.str() + "an anycast entry needs an address";
      return std::nullopt;
    }
    Withdrawal w;
    w.by = (*t)["by"].value_or(std::string());
    w.at = (*t)["at"].value_or(0.0);
    if (!std::isfinite(w.at)) {
      error = m.str() + "at must be a time";
      return std::nullopt;
    }
    data.withdrawals[parsed->str()] = w;
  }
  return data;
}

std::string Overrides::load() {
  data_ = Data{};
  if (path_.empty()) return "";
  std::string text, error;
  if (!read_file(path_, text, error)) return error;
  auto parsed = parse(text, path_, error);
  if (!parsed) return error;
  data_ = std::move(*parsed);
  return "";
}

std::string Overrides::save() {
  if (path_.empty()) return "";
  std::error_code ec;
  auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create " + dir.string() + ": " + ec.message();
  return write_file_durably(files_, path_, format(data_));
}

const RealOverride* Overrides::find(const std::string& id) const {
  auto it = data_.reals.find(id);
  return it == data_.reals.end() ? nullptr : &it->second;
}

std::string Overrides::set(const std::string& id, const RealOverride& o) {
  auto before = data_;
  if (empty(o))
    data_.reals.erase(id);
  else
    data_.reals[id] = o;
  auto err = commit(std::move(before));
  if (err.empty()) changed(id, "");
  return err;
}

std::string Overrides::commit(Data before) {
  auto err = save();
  if (err.empty()) return "";
  // A failure after the rename (syncing the directory) leaves the change in the file: then
  // undoing it here would make the next start apply what the operator was told failed.
  std::string text, read_error, parse_error;
  if (!path_.empty() && read_file(path_, text, read_error)) {
    if (auto on_disk = parse(text, path_, parse_error); on_disk && *on_disk == data_) {
      HD_LOG(warning, "overrides") << "saved " << path_ << ", but " << err
                                   << ": the change may not survive a power loss";
      return "";
    }
  }
  data_ = std::move(before);
  return err;
}

std::string Overrides::set_hold(const std::string& instance, const std::optional<InstanceHold>& h) {
  auto before = data_;
  if (h)
    data_.holds[instance] = *h;
  else
    data_.holds.erase(instance);
  return commit(std::move(before));
}

std::string Overrides::set_withdrawal(const std::string& address,
                                      const std::optional<Withdrawal>& w) {
  auto before = data_;
  if (w)
    data_.withdrawals[address] = *w;
  else
    data_.withdrawals.erase(address);
  return commit(std::move(before));
}

void Overrides::hold_lifted(const std::string& instance) {
  if (!data_.holds.erase(instance)) return;
  if (auto err = save(); !err.empty())
    HD_LOG(error, "overrides") << "cannot record that " << instance << " is no longer held: " << err;
}

void Overrides::drain_done(const std::string& id, const std::string& why) {
  auto it = data_.reals.find(id);
  if (it == data_.reals.end() || it->second.mode != RealOverride::Mode::drain) return;
  it->second.mode = RealOverride::Mode::drained;
  it->second.deadline.reset();
  it->second.reason = why;
  if (auto err = save(); !err.empty())
    HD_LOG(error, "overrides") << "cannot record that the drain of " << id << " is done: " << err;
  changed(id, why);
}

std::vector<std::string> Overrides::prune(const std::set<std::string>& ids,
                                         const std::set<std::string>& instances,
                                         const std::set<std::string>& addresses, bool save_now) {
  std::vector<std::string> dropped;
  for (auto it = data_.withdrawals.begin(); it != data_.withdrawals.end();) {
    if (addresses.count(it->first)) {
      ++it;
      continue;
    }
    dropped.push_back("dropping the withdrawal of " + it->first + " set by " + it->second.by +
                      ": no announce = \"bgp\" virtual server has it any more");
    it = data_.withdrawals.erase(it);
  }
  for (auto it = data_.holds.begin(); it != data_.holds.end();) {
    if (instances.count(it->first)) {
      ++it;
      continue;
    }
    dropped.push_back("dropping the " + std::string(to_string(it->second.mode)) + " of VRRP instance " +
                      it->first + " set by " + it->second.by +
                      ": the instance is no longer in the config");
    it = data_.holds.erase(it);
  }
  std::vector<std::string> gone;
  for (auto it = data_.reals.begin(); it != data_.reals.end();) {
    if (ids.count(it->first)) {
      ++it;
      continue;
    }
    dropped.push_back("dropping the override (" + describe(it->second) + ") of " + it->first +
                      " set by " +
                      it->second.by + ": the real server is no longer in the config");
    gone.push_back(it->first);
    it = data_.reals.erase(it);
  }
  if (!dropped.empty() && save_now) {
    if (auto err = save(); !err.empty())
      dropped.push_back("cannot save the overrides: " + err);
  }
  for (auto& id : gone) changed(id, "the real server is no longer in the config");
  return dropped;
}

ipvs::AdminMap Overrides::admin_map() const {
  ipvs::AdminMap out;
  for (const auto& [id, o] : data_.reals) {
    ipvs::AdminOverride a;
    switch (o.mode) {
      case RealOverride::Mode::none: a.mode = ipvs::AdminOverride::Mode::none; break;
      case RealOverride::Mode::drain: a.mode = ipvs::AdminOverride::Mode::drain; break;
      case RealOverride::Mode::drained:
      case RealOverride::Mode::maint: a.mode = ipvs::AdminOverride::Mode::out; break;
    }
    a.weight = o.weight;
    out[id] = a;
  }
  return out;
}

std::map<std::string, std::optional<double>> Overrides::open_drains() const {
  std::map<std::string, std::optional<double>> out;
  for (const auto& [id, o] : data_.reals)
    if (o.mode == RealOverride::Mode::drain) out[id] = o.deadline;
  return out;
}

void Overrides::status(JsonWriter& w) const {
  w.begin_array();
  for (const auto& [id, o] : data_.reals) {
    w.begin_object();
    w.field("real_server", id);
    w.field("mode", to_string(o.mode));
    w.key("weight");
    if (o.weight)
      w.value(*o.weight);
    else
      w.null();
    w.key("deadline");
    if (o.deadline)
      w.value(*o.deadline);
    else
      w.null();
    w.key("reason");
    if (!o.reason.empty())
      w.value(o.reason);
    else
      w.null();
    w.field("by", o.by);
    w.field("at", o.at);
    w.end_object();
  }
  w.end_array();
}

}  // namespace hd

namespace hd {

void Overrides::holds_status(JsonWriter& w) const {
  w.begin_array();
  for (const auto& [name, h] : data_.holds) {
    w.begin_object();
    w.field("vrrp_instance", name).field("mode", to_string(h.mode));
    w.field("by", h.by).field("at", h.at);
    w.end_object();
  }
  w.end_array();
}

void Overrides::withdrawals_status(JsonWriter& w) const {
  w.begin_array();
  for (const auto& [address, wd] : data_.withdrawals)
    w.begin_object().field("address", address).field("by", wd.by).field("at", wd.at).end_object();
  w.end_array();
}

}  // namespace hd
