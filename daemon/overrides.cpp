// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/overrides.h"

#include <toml++/toml.h>

#include <cmath>
#include <filesystem>
#include <sstream>

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

std::string Overrides::format(const Reals& reals) {
  toml::array list;
  for (const auto& [id, o] : reals) {
    toml::table t;
    t.insert("real_server", id);
    t.insert("mode", std::string(to_string(o.mode)));
    if (o.deadline) t.insert("deadline", *o.deadline);
    if (o.weight) t.insert("weight", int64_t{*o.weight});
    t.insert("by", o.by);
    t.insert("at", o.at);
    list.push_back(std::move(t));
  }
  toml::table root;
  root.insert("real_server", std::move(list));
  std::ostringstream out;
  out << "# hadirector's runtime overrides (hadirector ctl): written by the daemon on every\n"
         "# change. Change them with hadirector ctl, not by editing this file.\n"
      << root << "\n";
  return out.str();
}

std::optional<Overrides::Reals> Overrides::parse(const std::string& text, const std::string& source,
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
  Reals out;
  auto* list = root["real_server"].as_array();
  if (!list) return out;
  for (auto& node : *list) {
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
    o.by = (*t)["by"].value_or(std::string());
    o.at = (*t)["at"].value_or(0.0);
    if (!std::isfinite(o.at)) return bad("at must be a time");
    if (!empty(o)) out[*id] = o;
  }
  return out;
}

std::string Overrides::load() {
  reals_.clear();
  if (path_.empty()) return "";
  std::string text, error;
  if (!read_file(path_, text, error)) return error;
  auto parsed = parse(text, path_, error);
  if (!parsed) return error;
  reals_ = std::move(*parsed);
  return "";
}

std::string Overrides::save() {
  if (path_.empty()) return "";
  std::error_code ec;
  auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create " + dir.string() + ": " + ec.message();
  return write_file_durably(files_, path_, format(reals_));
}

const RealOverride* Overrides::find(const std::string& id) const {
  auto it = reals_.find(id);
  return it == reals_.end() ? nullptr : &it->second;
}

std::string Overrides::set(const std::string& id, const RealOverride& o) {
  auto before = reals_;
  if (empty(o))
    reals_.erase(id);
  else
    reals_[id] = o;
  if (auto err = save(); !err.empty()) {
    reals_ = std::move(before);
    return err;
  }
  return "";
}

void Overrides::drain_done(const std::string& id) {
  auto it = reals_.find(id);
  if (it == reals_.end() || it->second.mode != RealOverride::Mode::drain) return;
  it->second.mode = RealOverride::Mode::drained;
  it->second.deadline.reset();
  if (auto err = save(); !err.empty())
    HD_LOG(error, "overrides") << "cannot record that the drain of " << id << " is done: " << err;
}

std::vector<std::string> Overrides::prune(const std::set<std::string>& ids, bool save_now) {
  std::vector<std::string> dropped;
  for (auto it = reals_.begin(); it != reals_.end();) {
    if (ids.count(it->first)) {
      ++it;
      continue;
    }
    dropped.push_back("dropping the override (" + describe(it->second) + ") of " + it->first +
                      " set by " +
                      it->second.by + ": the real server is no longer in the config");
    it = reals_.erase(it);
  }
  if (!dropped.empty() && save_now) {
    if (auto err = save(); !err.empty())
      dropped.push_back("cannot save the overrides: " + err);
  }
  return dropped;
}

ipvs::AdminMap Overrides::admin_map() const {
  ipvs::AdminMap out;
  for (const auto& [id, o] : reals_) {
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
  for (const auto& [id, o] : reals_)
    if (o.mode == RealOverride::Mode::drain) out[id] = o.deadline;
  return out;
}

void Overrides::status(JsonWriter& w) const {
  w.begin_array();
  for (const auto& [id, o] : reals_) {
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
    w.field("by", o.by);
    w.field("at", o.at);
    w.end_object();
  }
  w.end_array();
}

}  // namespace hd
