// SPDX-License-Identifier: GPL-2.0-or-later
// The control socket: a UNIX stream socket. A client sends one request line
// (daemon/control/protocol.h); the daemon answers and closes. Each connection carries
// its peer's credentials (SO_PEERCRED, SO_PEERGROUPS), which the handler authorises.
// Reads and writes are non-blocking on the main loop, which no client can
// monopolise: connections are capped and time out, and when accept() runs out of
// descriptors accepting pauses (with a retry timer) instead of spinning the loop.
#pragma once
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/loop.h"
#include "daemon/control/protocol.h"

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

// Who may open the socket at all (the handler then authorises each request): mode 0600
// (root only) without groups; 0660 with the socket's group `group` when one group may use it;
// 0666 when two different groups may, every request then gated by its peer's credentials.
struct SocketAccess {
  mode_t mode = 0600;
  std::optional<gid_t> group;
  bool operator==(const SocketAccess&) const = default;
};
SocketAccess socket_access(const AccessPolicy& policy);

// Delivers a deferred reply (Reply::later) to its connection, once, on the server's loop;
// does nothing when the connection is gone.
using Send = std::function<void(std::string text)>;
// Queues one part of a reply in parts (Reply::streamed) and says how many bytes of the
// connection's reply are queued and not yet sent (a writer that runs ahead of its client
// waits), or nullopt when the connection is gone (the writer stops). The reply ends with the
// Send that comes with it.
using SendPart = std::function<std::optional<size_t>(std::string text)>;

// What the handler answers: the text, and whether the connection then stays open as a
// subscriber of the event stream (broadcast()). Or, with `later` set, nothing yet: the
// server calls later(send) and the answer is whatever send() is given, whenever that is
// (a reload answers once the config is parsed off the loop and applied). Until then the
// connection is not read, and the idle timeout does not run.
struct Reply {
  Reply(std::string t = {}, bool s = false) : text(std::move(t)), subscribe(s) {}  // NOLINT
  Reply(const char* t) : text(t) {}  // NOLINT: handlers answer plain text
  static Reply deferred(std::function<void(Send)> later) {
    Reply r;
    r.later = std::move(later);
    return r;
  }
  // Deferred, and written to the client a part at a time as the handler makes it: a reply
  // of 38 MB (status --json at 100,000 real servers) is not held whole.
  static Reply streamed(std::function<void(SendPart, Send)> later) {
    Reply r;
    r.later_parts = std::move(later);
    return r;
  }
  std::string text;
  bool subscribe = false;
  std::function<void(Send)> later;
  std::function<void(SendPart, Send)> later_parts;
};

class Server {
 public:
  using Handler = std::function<Reply(const Peer& peer, const std::string& request)>;
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
    // A subscriber whose unsent events exceed this is cut off (it does not keep up).
    size_t subscriber_buffer = 256 * 1024;
  };
  // Everything dropped or refused, counted since construction.
  struct Stats {
    uint64_t accepted = 0;         // connections accept() returned (refused ones too)
    uint64_t accept_errors = 0;    // failed accept() calls (EAGAIN aside)
    uint64_t accept_backoffs = 0;  // episodes of accepting paused for lack of descriptors
    uint64_t refused = 0;          // over max_connections: closed at once
    uint64_t timed_out = 0;        // closed by idle_timeout
    uint64_t events_cut = 0;       // subscribers cut off for not keeping up
  };
  Server(Loop& loop, Handler handler) : Server(loop, std::move(handler), Limits{}) {}
  Server(Loop& loop, Handler handler, Limits limits);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Creates the socket (and its directory). A stale socket file is replaced;
  // a live one (another daemon answering) is an error. Returns "" on success.
  std::string listen(const std::string& path, const SocketAccess& access = {});
  // Applies a new mode and group to the listening socket (reload); "" or why not.
  std::string set_access(const SocketAccess& access);
  void close();
  const std::string& path() const { return path_; }
  const Stats& stats() const { return stats_; }
  // Event-stream subscribers connected now.
  size_t subscribers() const { return subscribers_; }
  // Queues `line` to every subscriber; one whose queue would exceed subscriber_buffer is
  // closed at once (counted in events_cut). Never blocks.
  void broadcast(const std::string& line);

 private:
  struct Conn;
  void on_accept();
  void pause_accepting();
  void on_conn(Conn* c, int revents);
  void on_idle(Conn* c);
  void drop(Conn* c);
  // Queues a deferred reply's text: its last part (closing once sent) or one more part.
  std::optional<size_t> deliver(uint64_t id, std::string text, bool last);

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
  size_t subscribers_ = 0;
  uint64_t next_id_ = 0;  // names connections for deferred replies
};

// Client side of the event stream (`hadirector ctl events`): sends `line`, then passes each
// line the daemon writes to `on_line` until the daemon closes the connection (true) or it
// fails (false, `error` set). Blocking; the write side stays open (closing it unsubscribes).
bool stream(const std::string& path, const std::string& line,
            const std::function<void(const std::string&)>& on_line, std::string& error);

// Client side, used by `hadirector status`: blocking is fine there.
// Returns false and sets error on failure, or when the daemon does not answer within
// `timeout` (a stopped or stuck daemon must not hang the client); zero waits for as long
// as the daemon takes (ctl drain --wait).
bool request(const std::string& path, const std::string& line, std::string& reply,
             std::string& error, std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace hd::control
