// SPDX-License-Identifier: GPL-2.0-or-later
// The loader's sections, one file each: each reads its tables through reader.h and reports
// every problem with its position. loader.cpp runs them in order, then cross_checks().
#pragma once
#include <optional>
#include <string>

#include "daemon/config/reader.h"

namespace hd::config {

void load_global(Table& root, Config& cfg);                       // global.cpp
std::optional<VrrpInstance> load_vrrp(Table& t);                  // vrrp.cpp
std::optional<TrackScript> load_track_script(Table& t);           // vrrp.cpp
std::optional<TrackFile> load_track_file(Table& t);               // vrrp.cpp
std::optional<SyncGroup> load_sync_group(Table& t);               // vrrp.cpp
std::optional<AuthSection> load_auth(Ctx& ctx, const toml::table& t,  // vrrp_auth.cpp
                                     const std::string& where);
std::optional<Check> load_check(Ctx& ctx, const toml::table& ct,  // check.cpp
                                const std::string& where);
std::optional<VirtualServer> load_vs(Table& t);                   // virtual_server.cpp
std::optional<Anycast> load_anycast(Table& t);                     // virtual_server.cpp
std::optional<RealServerRole> load_realserver(Ctx& ctx, const toml::table& tt);  // realserver.cpp
// Names that refer to each other: instances, scripts, sync groups, virtual servers.
void cross_checks(Ctx& ctx, Config& cfg);                         // cross_checks.cpp

}  // namespace hd::config
