// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <pthread.h>

namespace hd {

// A mutex with priority inheritance (PTHREAD_PRIO_INHERIT): while a real-time thread waits
// for it, whoever holds it runs at that thread's priority. For the few locks the VRRP thread
// shares with the main thread (mailboxes, the status snapshot): with a plain std::mutex a
// main thread preempted by ordinary load while holding one would keep a SCHED_FIFO VRRP
// thread waiting as long as the load runs (priority inversion). A BasicLockable, so
// std::lock_guard works with it.
class PiMutex {
 public:
  PiMutex();
  ~PiMutex();
  PiMutex(const PiMutex&) = delete;
  PiMutex& operator=(const PiMutex&) = delete;
  void lock();
  void unlock();
  bool try_lock();

 private:
  pthread_mutex_t m_;
};

}  // namespace hd
