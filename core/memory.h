// SPDX-License-Identifier: GPL-2.0-or-later
// Giving the heap's free pages back to the kernel after a big, short-lived allocation (a
// config load parses a tree several times the size of the model it builds, and frees it
// between the model's own allocations, which keeps those pages resident otherwise).
#pragma once
#include <cstddef>

namespace hd {

// Returns free heap pages to the kernel (glibc: malloc_trim(0)); elsewhere does nothing.
// Takes a few milliseconds with a large heap: call it after a load, not per event.
void release_free_memory();

}  // namespace hd
