// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hd {

void release_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

void configure_heap() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);  // fixed: no dynamic raising
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
#endif
}

}  // namespace hd
