// SPDX-License-Identifier: GPL-2.0-or-later
// The smtp check (libcurl's SMTP on the checkers' multi) against a small scripted SMTP
// server on loopback: a good dialogue, a refusing banner, a server that never speaks.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "checkers/http_check.h"
#include "test_servers.h"

namespace hd::checkers {
namespace {

using namespace testing;
using std::chrono::milliseconds;

// Accepts connections one at a time; greets with `banner` (empty: says nothing) and
// answers EHLO, NOOP and QUIT as an MTA does. Records the commands it got.
class SmtpServer {
 public:
  explicit SmtpServer(std::string banner) : banner_(std::move(banner)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 8);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~SmtpServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  std::string commands() const {
    std::lock_guard<std::mutex> l(mu_);
    return commands_;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      timeval tv{2, 0};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (!banner_.empty()) say(c, banner_);
      std::string buf;
      char b[512];
      bool open = !banner_.empty() && banner_[0] == '2';
      while (open) {
        ssize_t n = recv(c, b, sizeof b, 0);
        if (n <= 0) break;
        buf.append(b, static_cast<size_t>(n));
        size_t eol;
        while ((eol = buf.find("\r\n")) != std::string::npos) {
          std::string line = buf.substr(0, eol);
          buf.erase(0, eol + 2);
          {
            std::lock_guard<std::mutex> l(mu_);
            commands_ += line + "|";
          }
          if (line.rfind("EHLO", 0) == 0) say(c, "250-mx.test\r\n250 8BITMIME\r\n");
          else if (line == "NOOP") say(c, "250 2.0.0 OK\r\n");
          else if (line == "QUIT") { say(c, "221 bye\r\n"); open = false; break; }
          else say(c, "502 5.5.2 not implemented\r\n");
        }
      }
      if (banner_.empty()) usleep(400 * 1000);  // silent: hold the line past the timeout
      close(c);
    }
  }
  static void say(int c, const std::string& s) { send(c, s.data(), s.size(), MSG_NOSIGNAL); }
  std::string banner_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::string commands_;
  std::thread thread_;
};

Spec smtp_spec(uint16_t port) {
  Spec s;
  s.type = CheckType::smtp;
  s.address = *IpAddress::parse("127.0.0.1");
  s.port = port;
  s.timeout = milliseconds(300);
  s.helo_name = "director.test";
  return s;
}

TEST(SmtpCheck, BannerEhloNoopQuit) {
  Loop loop;
  ProbeContext ctx(loop);
  SmtpServer server("220 mx.test ESMTP\r\n");
  auto probe = make_probe(ctx, smtp_spec(server.port()));
  EXPECT_EQ(run_probe(loop, *probe).to_string(), "ok");
  EXPECT_EQ(server.commands(), "EHLO director.test|NOOP|QUIT|");
  EXPECT_EQ(run_probe(loop, *probe).to_string(), "ok");  // and again, on a new connection
}

TEST(SmtpCheck, ARefusingBannerIsABadStatus) {
  Loop loop;
  ProbeContext ctx(loop);
  SmtpServer server("554 5.3.2 not accepting mail\r\n");
  auto probe = make_probe(ctx, smtp_spec(server.port()));
  auto r = run_probe(loop, *probe);
  EXPECT_EQ(r.reason, Reason::bad_status) << r.to_string();
  EXPECT_EQ(r.code, 554);
}

TEST(SmtpCheck, ASilentServerTimesOut) {
  Loop loop;
  ProbeContext ctx(loop);
  SmtpServer server("");
  auto probe = make_probe(ctx, smtp_spec(server.port()));
  EXPECT_EQ(run_probe(loop, *probe).to_string(), "timeout");
}

TEST(SmtpCheck, ARefusedPort) {
  Loop loop;
  ProbeContext ctx(loop);
  auto probe = make_probe(ctx, smtp_spec(refused_port()));
  EXPECT_EQ(run_probe(loop, *probe).to_string(), "connect refused");
}

TEST(SmtpCheck, HeloNameIsADomainOrLiteral) {
  Spec s = smtp_spec(25);
  EXPECT_EQ(validate(s), std::nullopt);
  s.helo_name = "a/b";
  EXPECT_EQ(validate(s), "helo_name must be a host name or an address literal");
}

}  // namespace
}  // namespace hd::checkers
