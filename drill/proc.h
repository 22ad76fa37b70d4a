// SPDX-License-Identifier: GPL-2.0-or-later
// Process helpers for the drill (a command-line tool, so blocking is fine):
// run a command without a shell, capture its output, start background
// processes and stop them by PID.
#pragma once
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace hd::drill {

struct RunResult {
  int status = -1;  // exit status, or 128+signal
  std::string out;  // stdout and stderr together
};

RunResult run(const std::vector<std::string>& argv);
// Like run(), but throws std::runtime_error with the output when the exit status is not 0.
std::string must(const std::vector<std::string>& argv);
// argv run inside network namespace `ns` ("ip netns exec ns ...").
std::vector<std::string> in_ns(const std::string& ns, std::vector<std::string> argv);

// A background process; its stdout goes to `out_fd` (or a log file).
struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // read end when piped, else -1
};
Child spawn_logged(const std::vector<std::string>& argv, const std::string& log_path);
// stderr goes to /dev/null unless discard_stderr is false (then it stays ours).
Child spawn_piped(const std::vector<std::string>& argv, bool discard_stderr = true);
// Sends `sig`, waits up to `timeout_ms` for exit, then SIGKILL. Returns the wait status.
int stop(pid_t pid, int sig, int timeout_ms);

// VmRSS (kB) and the number of open descriptors of a process; -1 when unreadable.
std::pair<long, long> footprint(pid_t pid);
// Whether a child of ours still runs; one that has exited is reaped and `pid` set to -1.
bool still_running(pid_t& pid);

// Whether path `p` exists (false for ""); the directory part of `p` ("." when none).
bool exists(const std::string& p);
std::string dir_of(const std::string& p);
// Whether this kernel has IPVS, loading ip_vs if it can: else the drill runs in the VM.
bool host_has_ipvs();

}  // namespace hd::drill
