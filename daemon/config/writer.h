// SPDX-License-Identifier: GPL-2.0-or-later
// Config -> TOML: the inverse of the loader. The document to_toml() writes loads back
// (load_string / load_file) to a Config equal to the one written, field for field (source
// positions and the file name aside). Only values that differ from the loader's defaults
// are written, except the keys that identify a thing (names, addresses, router_id).
#pragma once
#include <string>

#include "daemon/config/model.h"

namespace hd::config {

// `cfg` should be a validated config (one the loader could have produced): a value the
// loader would refuse is still written, so that loading the text fails loudly instead
// of the value being lost. One exception: VirtualServer::family_ of a service with an
// address is not written (the address has its family; the loader leaves family_ at v4).
// Durations are written in the largest unit that holds them exactly ("2m", "5s",
// "100ms", "1.5ms"); the loader reads durations to the microsecond, so a sub-microsecond
// remainder is rounded. TOML strings are UTF-8: a check's send/expect bytes that are not
// are written as send_hex/expect_hex.
std::string to_toml(const Config& cfg);

// A duration as the loader reads it back: "0s", "2h", "5m", "30s", "100ms", "1.5ms".
std::string duration_text(Duration d);

}  // namespace hd::config
