// SPDX-License-Identifier: GPL-2.0-or-later
// A small HTTP server on a libev loop, for the metrics endpoint: libmicrohttpd does HTTP, in
// its external-epoll mode (no thread of its own): its epoll descriptor is one IoWatcher on
// our loop, its timeouts one Timer. The listening socket is ours (so a bind error is ours to
// word); the handler answers each GET or HEAD on the loop's thread.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/loop.h"

struct MHD_Daemon;

namespace hd::metrics {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Or a body in parts, sent one after the other (metrics::Writer's chunks).
  std::vector<std::string> chunks;
  // Given the parts back once they are sent (or the connection gone), on the loop's thread:
  // a megabytes-long body's memory can serve the next response.
  std::function<void(std::vector<std::string>&&)> recycle;
};

class HttpServer {
 public:
  // Answers a request at once, or later: returning nullopt promises one call of `later` with
  // the response, on the loop's thread (the connection waits, suspended, meanwhile). A
  // `later` called after the server closed (or twice) does nothing.
  using Later = std::function<void(HttpResponse)>;
  using Handler = std::function<std::optional<HttpResponse>(std::string_view path, Later later)>;
  HttpServer(Loop& loop, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds ADDRESS:PORT (port 0: any) and serves. "" or why not, naming the address.
  std::string listen(const IpAddress& address, int port);
  void close();
  bool listening() const { return daemon_ != nullptr; }
  int port() const { return port_; }  // the bound port
  uint64_t refused() const { return refused_; }  // methods other than GET/HEAD

  // libmicrohttpd's request callback lands here (cls: the server; connection: its
  // MHD_Connection; state: the request's slot for a Pending); returns whether a response
  // was queued (or the connection suspended for a later one).
  static int on_request(void* cls, void* connection, const char* url, const char* method,
                        void** state);
  // A request is over (libmicrohttpd's completion callback): its Pending goes.
  static void on_completed(void* cls, void** state);

 private:
  struct Pending;  // a request answered later: its connection and, once there, the response
  void pump();  // MHD_run, then the next timeout
  void pump_soon();
  std::map<Pending*, std::shared_ptr<Pending>> pending_;
  std::unique_ptr<Timer> soon_;

  Loop& loop_;
  Handler handler_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  std::unique_ptr<IoWatcher> io_;
  std::unique_ptr<Timer> timer_;
  uint64_t refused_ = 0;
};

}  // namespace hd::metrics
