// SPDX-License-Identifier: GPL-2.0-or-later
// The control socket: a UNIX stream socket (mode 0600). A client sends one
// request line ("status", "status --json"); the daemon answers and closes.
// Reads and writes are non-blocking on the main loop, which no client can
// monopolise: connections are capped and time out, and when accept() runs out of
// descriptors accepting pauses (with a retry timer) instead of spinning the loop.
#pragma once
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "core/loop.h"

namespace hd::control {

// A connection that sends more than this before its request line is framed is closed unanswered.
inline constexpr size_t kMaxRequest = 4096;

// The request framing, without the socket (pure; fuzzed by tests/fuzz/control_request): what the
// server makes of the bytes a connection has sent so far (`in`), `eof` when the client has
// closed its side. A request is the first line (without its newline), or, at `eof`, all of `in`.
struct Framed {
  enum Kind { incomplete, request, too_long } kind = incomplete;
  std::string line;  // kind == request
};
Framed frame_request(std::string_view in, bool eof);

// The requests the daemon answers, by their line.
enum class Request { unknown, status, status_json, reload };
Request parse_request(std::string_view line);

class Server {
 public:
  using Handler = std::function<std::string(const std::string& request)>;
  struct Limits {
    // Connections open at once; one more is closed as soon as it is accepted.
    size_t max_connections = 64;
    // A connection without a complete request line this long after it was accepted, or
    // whose reply has not moved this long, is closed.
    Duration idle_timeout = std::chrono::seconds(5);
    // accept() out of descriptors (EMFILE, ENFILE) or memory: stop accepting, retry after
    // retry_min, doubling up to retry_max while it keeps failing.
    Duration accept_retry_min = std::chrono::milliseconds(100);
    Duration accept_retry_max = std::chrono::seconds(1);
  };
  // Everything dropped or refused, counted since construction.
  struct Stats {
    uint64_t accepted = 0;         // connections accept() returned (refused ones too)
    uint64_t accept_errors = 0;    // failed accept() calls (EAGAIN aside)
    uint64_t accept_backoffs = 0;  // episodes of accepting paused for lack of descriptors
    uint64_t refused = 0;          // over max_connections: closed at once
    uint64_t timed_out = 0;        // closed by idle_timeout
  };
  Server(Loop& loop, Handler handler) : Server(loop, std::move(handler), Limits{}) {}
  Server(Loop& loop, Handler handler, Limits limits);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Creates the socket (and its directory). A stale socket file is replaced;
  // a live one (another daemon answering) is an error. Returns "" on success.
  std::string listen(const std::string& path);
  void close();
  const std::string& path() const { return path_; }
  const Stats& stats() const { return stats_; }

 private:
  struct Conn;
  void on_accept();
  void pause_accepting();
  void on_conn(Conn* c, int revents);
  void on_idle(Conn* c);
  void drop(Conn* c);

  Loop& loop_;
  Handler handler_;
  Limits limits_;
  Stats stats_;
  std::string path_;
  int fd_ = -1;
  std::unique_ptr<IoWatcher> accept_watcher_;
  std::list<std::unique_ptr<Conn>> conns_;
  // Closed connections are freed on the next loop turn, never inside their own callback.
  std::list<std::unique_ptr<Conn>> graveyard_;
  Timer reaper_;
  Timer accept_retry_;
  Duration accept_delay_{};  // zero: accepting normally
};

// Client side, used by `hadirector status`: blocking is fine there.
// Returns false and sets error on failure, or when the daemon does not answer within
// `timeout` (a stopped or stuck daemon must not hang the client).
bool request(const std::string& path, const std::string& line, std::string& reply,
             std::string& error, std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace hd::control
