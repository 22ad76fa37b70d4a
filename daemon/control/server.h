// The control socket: a UNIX stream socket (mode 0600). A client sends one
// request line ("status", "status --json"); the daemon answers and closes.
// Reads and writes are non-blocking on the main loop.
#pragma once
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "core/loop.h"

namespace hd::control {

class Server {
 public:
  using Handler = std::function<std::string(const std::string& request)>;
  Server(Loop& loop, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Creates the socket (and its directory). A stale socket file is replaced;
  // a live one (another daemon answering) is an error. Returns "" on success.
  std::string listen(const std::string& path);
  void close();
  const std::string& path() const { return path_; }

 private:
  struct Conn;
  void on_accept();
  void on_conn(Conn* c, int revents);
  void drop(Conn* c);

  Loop& loop_;
  Handler handler_;
  std::string path_;
  int fd_ = -1;
  std::unique_ptr<IoWatcher> accept_watcher_;
  std::list<std::unique_ptr<Conn>> conns_;
  // Closed connections are freed on the next loop turn, never inside their own callback.
  std::list<std::unique_ptr<Conn>> graveyard_;
  Timer reaper_;
};

// Client side, used by `hadirector status`: blocking is fine there.
// Returns false and sets error on failure.
bool request(const std::string& path, const std::string& line, std::string& reply,
             std::string& error);

}  // namespace hd::control
