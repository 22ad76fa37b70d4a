// SPDX-License-Identifier: GPL-2.0-or-later
// Starting child programs without blocking the loop: argv is executed
// directly (argv[0] is a path; no shell, no PATH search), in its own process
// group so a timeout can kill everything it started, with default signal
// dispositions, an empty signal mask, and no inherited descriptors above 2.
// Seeing the exit is the caller's job (ev_child on Loop::main(), or a pidfd).
#pragma once
#include <optional>
#include <sys/types.h>

#include <string>
#include <vector>

namespace hd {

struct SpawnOptions {
  bool new_process_group = true;  // process group id == pid
  bool stdin_null = true;         // else inherited
  bool stdout_null = true;
  bool stderr_null = true;
};

struct SpawnResult {
  pid_t pid = -1;
  int error = 0;  // errno when the program could not be started (ENOENT, EACCES, ...)
  bool ok() const { return pid > 0; }
};

// posix_spawn: exec failures come back here as `error`, not as an exit 127.
SpawnResult spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options = {});

// `name` as an absolute path (posix_spawn does not search): itself when it has a '/' (if it
// is executable), else the first executable of that name in $PATH (nullopt: none).
std::optional<std::string> find_program(const std::string& name);

}  // namespace hd
