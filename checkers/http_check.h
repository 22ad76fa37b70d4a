// SPDX-License-Identifier: GPL-2.0-or-later
// HTTP/HTTPS probe on a shared CurlMulti: one request (GET or HEAD) on a
// fresh connection, status matched against expect_status, body (at most
// kMaxBody bytes kept) against body_contains / body_regex / body_sha256.
//
// The URL names the IP literal; a Host header carries `host`. For https with
// a server name (sni, else host), the URL names it and CURLOPT_CONNECT_TO pins
// the connection to the target's address: SNI and certificate checks use the
// name, no resolver ever runs, and no name->address entry is shared between
// checks (CURLOPT_RESOLVE would put one in the multi's shared DNS cache).
// connect_timeout -> CURLOPT_CONNECTTIMEOUT_MS, timeout -> CURLOPT_TIMEOUT_MS.
//
// The smtp check is the same probe with libcurl's SMTP: "smtp://ADDRESS:PORT/HELO_NAME" with
// the NOOP command: curl reads the 220 banner, says EHLO (HELO if refused), STARTTLS when
// asked, sends NOOP and QUIT. A reply curl does not accept is bad_status with its code.
#pragma once
#include <memory>
#include <curl/curl.h>

#include <optional>
#include <string>

#include "checkers/curl_multi.h"
#include "checkers/http_match.h"
#include "checkers/probe.h"

namespace hd::checkers {

class HttpProbe final : public Probe, private CurlTransfer {
 public:
  HttpProbe(CurlMulti& multi, SpecPtr spec, Endpoint target);
  HttpProbe(CurlMulti& multi, const Spec& spec)
      : HttpProbe(multi, std::make_shared<const Spec>(spec), endpoint_of(spec)) {}
  ~HttpProbe() override;
  void start(ProbeDone done) override;
  void cancel() override;
  bool keep_between_runs() const override { return true; }
  bool running() const override { return static_cast<bool>(done_); }
  const std::string& url() const { return url_; }

 private:
  void on_curl_done(CURLcode code) override;
  static size_t on_write(char* data, size_t size, size_t n, void* self);
  // CURLOPT_OPENSOCKETFUNCTION: socket() as curl would, keeping its errno (curl does not
  // report why it could not open one, and EMFILE here is ours, not the server's).
  static curl_socket_t open_socket(void* self, curlsocktype purpose, curl_sockaddr* addr);
  Result classify(CURLcode code);
  void finish(Result r);
  void finish_later(Result r);

  CurlMulti& multi_;
  SpecPtr spec_;  // shared with the Checker's checks
  Endpoint target_;
  HttpMatcher matcher_;
  CURL* easy_ = nullptr;
  CURLSH* share_ = nullptr;  // keepalive: its own connection cache (none: a new one each run)
  curl_slist* headers_ = nullptr;
  curl_slist* connect_to_ = nullptr;
  std::string url_;
  std::string interface_;
  std::string body_;
  bool truncated_ = false;
  bool aborted_ = false;  // we stopped reading the body on purpose
  size_t discarded_ = 0;  // keepalive: body bytes read and dropped this run
  bool in_multi_ = false;
  int socket_errno_ = 0;  // why the last socket() failed (0: it did not)
  char errbuf_[CURL_ERROR_SIZE] = {};
  Timer defer_;
  std::optional<Result> deferred_;
  ProbeDone done_;
};

}  // namespace hd::checkers
