// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for Overrides::parse, the runtime overrides file (state_dir/overrides.toml),
// which a crash can leave cut and anyone with write access to state_dir can craft. Checks: no
// crash; what it accepts holds only valid entries (a known mode, a weight from 0 to 65535,
// finite times, a non-empty id, nothing that means "no override"); and what it accepts formats
// and parses back to the same.
// Seeds: corpus/, files as Overrides::format writes them, plus cut and crafted ones.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "daemon/overrides.h"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto parsed = hd::Overrides::parse(text, "fuzz", error);
  if (!parsed) {
    check(!error.empty());
    return 0;
  }
  using Mode = hd::RealOverride::Mode;
  for (const auto& [name, h] : parsed->holds) {
    check(!name.empty() && std::isfinite(h.at));
  }
  for (const auto& [id, o] : parsed->reals) {
    check(!id.empty());
    check(o.mode == Mode::drain || o.mode == Mode::drained || o.mode == Mode::maint ||
          (o.mode == Mode::none && o.weight.has_value()));
    check(!o.weight || (*o.weight >= 0 && *o.weight <= 65535));
    check(!o.deadline || std::isfinite(*o.deadline));
    check(std::isfinite(o.at));
  }
  std::string again_error;
  auto again = hd::Overrides::parse(hd::Overrides::format(*parsed), "again", again_error);
  check(again.has_value() && *again == *parsed);
  return 0;
}
