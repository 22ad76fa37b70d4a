// SPDX-License-Identifier: GPL-2.0-or-later
// Feeds arbitrary bytes to the config loader: it must never crash, hang or
// leak, and must either accept the text or report at least one positioned error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = hd::config::load_string(text, "fuzz.toml");
  if (!r.ok() && r.errors.empty()) std::abort();
  for (auto& e : r.errors)
    if (e.file != "fuzz.toml" || e.message.empty()) std::abort();
  return 0;
}
