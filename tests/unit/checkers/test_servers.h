// SPDX-License-Identifier: GPL-2.0-or-later
// Small servers on 127.0.0.1 (ephemeral ports) that the checker tests probe:
// each runs on its own thread with blocking I/O, nothing shared with the
// loop under test.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "checkers/probe.h"
#include "checkers/result.h"
#include "core/loop.h"

namespace hd::checkers::testing {

// What a connection handler wants done with the accepted socket.
enum class After { close, reset, hold };

class TestServer {
 public:
  using Handler = std::function<After(int fd)>;
  // Listens on 127.0.0.1:0 (or ::1 when v6) and runs handler for every
  // accepted connection, one at a time, on the server thread.
  explicit TestServer(Handler handler, bool v6 = false);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  // Peer address of the last accepted connection ("127.0.0.2").
  std::string last_peer() const;

  // Ready-made behaviours.
  static Handler accept_and_close();
  static Handler hold();                                                // accept, never answer
  static Handler reset_after_read();                                    // read something, then RST
  static Handler reply(std::string bytes, After after = After::close);  // read, answer
  // HTTP/1.0: reads the request head, sleeps `delay`, answers. *last_request
  // (if given) gets the request head.
  static Handler http(int status, std::string body,
                      std::chrono::milliseconds delay = std::chrono::milliseconds(0),
                      std::string* last_request = nullptr, std::mutex* mu = nullptr);
  // Answers each request with the next status of the list (the last repeats).
  static Handler http_sequence(std::vector<int> statuses);

 private:
  void run();
  Handler handler_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  mutable std::mutex mu_;
  std::string last_peer_;
  std::vector<int> held_;
  std::thread thread_;
};

// Runs the process out of descriptors for as long as it lives: the soft
// RLIMIT_NOFILE is lowered to just above the highest descriptor in use and every
// free one below it is taken, so the next socket()/pipe()/open() fails with EMFILE.
// Everything is given back (descriptors closed, limit restored) on destruction.
class FdExhaustion {
 public:
  FdExhaustion();
  ~FdExhaustion();
  FdExhaustion(const FdExhaustion&) = delete;
  FdExhaustion& operator=(const FdExhaustion&) = delete;
  bool exhausted() const { return exhausted_; }

 private:
  unsigned long saved_soft_ = 0;
  std::vector<int> taken_;
  bool exhausted_ = false;
};

// A port on which nothing listens (bound, then closed): connects are refused.
uint16_t refused_port();

// A tcp check of address:port with a 500 ms timeout (a full connect).
Spec tcp_spec(uint16_t port, const char* address = "127.0.0.1");
// The same as a half-open (syn) probe.
Spec syn_spec(uint16_t port, const char* address = "127.0.0.1");

// A listener whose accept queue is full (backlog 0, one connection queued and
// never accepted): a new SYN is dropped, so connects time out.
class FullBacklog {
 public:
  FullBacklog();
  ~FullBacklog();
  uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int filler_fd_ = -1;
  uint16_t port_ = 0;
};

// Runs `loop` until probe.start()'s callback fires (or `guard` passes).
Result run_probe(Loop& loop, Probe& probe,
                 std::chrono::milliseconds guard = std::chrono::seconds(5));

// A temp dir, removed with its contents at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// `openssl s_server -www` on 127.0.0.1 with a fresh self-signed EC
// certificate for DNS:checker.test (openssl CLI, at test time).
class TlsServer {
 public:
  TlsServer();
  ~TlsServer();
  bool ok() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  // checker.test's certificate, served when the client sends that name by SNI.
  std::string cert_file() const { return dir_.file("cert.pem"); }
  // default.test's, served otherwise.
  std::string default_cert_file() const { return dir_.file("default.pem"); }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// Whether pid is gone: no such process, or a zombie that is not ours.
bool process_gone(pid_t pid);

}  // namespace hd::checkers::testing
