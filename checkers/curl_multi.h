// SPDX-License-Identifier: GPL-2.0-or-later
// libcurl's multi interface driven by a libev Loop (the "multi_socket" API):
// curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION -> one
// IoWatcher per socket) and when to call back (CURLMOPT_TIMERFUNCTION -> one
// Timer); we hand readiness back with curl_multi_socket_action. One CurlMulti
// serves every HTTP check on its loop. No threads, nothing blocks: targets
// are IP literals (or names pinned with CURLOPT_CONNECT_TO), so curl never
// starts its resolver.
#pragma once
#include <curl/curl.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "core/loop.h"

namespace hd::checkers {

// An easy handle's owner, told when its transfer ends.
class CurlTransfer {
 public:
  virtual ~CurlTransfer() = default;
  // Called from the loop after the handle has been removed from the multi.
  virtual void on_curl_done(CURLcode code) = 0;
};

class CurlMulti {
 public:
  explicit CurlMulti(Loop& loop);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // Starts a transfer; owner->on_curl_done() is called when it ends.
  // Returns false if curl refuses the handle.
  bool add(CURL* easy, CurlTransfer* owner);
  // Abandons a transfer (no on_curl_done). Safe for a handle not added.
  void remove(CURL* easy);
  size_t running() const { return owners_.size(); }
  Loop& loop() const { return loop_; }

 private:
  struct Socket;
  static int on_socket(CURL* easy, curl_socket_t s, int what, void* self, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);
  void action(curl_socket_t s, int flags);
  void drain_done();

  Loop& loop_;
  CURLM* multi_;
  Timer timer_;
  std::unordered_map<CURL*, CurlTransfer*> owners_;
  // Watchers of sockets curl has dropped, freed on the next entry from the
  // loop (a watcher is never freed inside its own callback).
  std::vector<std::unique_ptr<Socket>> retired_;
  std::unordered_map<Socket*, std::unique_ptr<Socket>> sockets_;
};

}  // namespace hd::checkers
