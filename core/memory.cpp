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

}  // namespace hd
