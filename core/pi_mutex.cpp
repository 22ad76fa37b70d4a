// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/pi_mutex.h"

#include <cstdlib>

namespace hd {

PiMutex::PiMutex() {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  // Supported by every Linux libc we build with; failing here means the lock would not do
  // what it says, which is not something to run on.
  if (pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT) != 0) std::abort();
  pthread_mutex_init(&m_, &a);
  pthread_mutexattr_destroy(&a);
}

PiMutex::~PiMutex() { pthread_mutex_destroy(&m_); }

void PiMutex::lock() {
  if (pthread_mutex_lock(&m_) != 0) std::abort();
}

void PiMutex::unlock() { pthread_mutex_unlock(&m_); }

bool PiMutex::try_lock() { return pthread_mutex_trylock(&m_) == 0; }

}  // namespace hd
