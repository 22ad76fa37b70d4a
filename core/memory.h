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

// Once, at start: large blocks (a status of several MB, a reload's buffers) always come from
// mmap and go back to the kernel when freed. glibc raises its mmap threshold after such a
// block is freed, and every later one then stays in the heap, resident for good.
void configure_heap();

// Makes the pages of [p, p + n) resident and writable now, in one system call
// (MADV_POPULATE_WRITE, Linux 5.14) instead of one page fault per 4 KiB page as they are
// first written: on a virtual machine a fault costs several microseconds, so a fresh 8 MB
// buffer written page by page costs tens of milliseconds. Only whole pages inside the range;
// does nothing where the kernel or libc lacks it (the faults then happen as before).
void prefault(void* p, size_t n);

}  // namespace hd
