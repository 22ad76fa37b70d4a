// The control socket on a real loop: requests are answered, the socket is
// mode 0600, a stale socket is replaced and a live one refused.
#include "daemon/control/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

namespace hd::control {
namespace {

std::string temp_path() {
  return "/tmp/hd-control-test-" + std::to_string(getpid()) + "/c.sock";
}

TEST(ControlServer, AnswersRequestsAndUsesMode0600) {
  Loop loop;
  std::vector<std::string> seen;
  Server server(loop, [&](const std::string& line) {
    seen.push_back(line);
    return "reply to " + line + "\n";
  });
  auto path = temp_path();
  ASSERT_EQ(server.listen(path), "");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::string reply, error;
  bool ok = false;
  AsyncWake done(loop, [&] { loop.stop(); });
  std::thread client([&] {
    ok = request(path, "status --json", reply, error);
    done.send();
  });
  Timer guard(loop, [&] { loop.stop(); });
  guard.start(std::chrono::seconds(5));
  loop.run();
  client.join();
  EXPECT_TRUE(ok) << error;
  EXPECT_EQ(reply, "reply to status --json\n");
  EXPECT_EQ(seen, std::vector<std::string>{"status --json"});

  // A second server on the same live path is refused.
  Loop loop2;
  Server other(loop2, [](const std::string&) { return ""; });
  EXPECT_NE(other.listen(path).find("already answering"), std::string::npos);

  server.close();
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

TEST(ControlServer, ReplacesStaleSocket) {
  // What a crashed daemon leaves: a socket file that nobody listens on. Bound and
  // closed here without unlinking (a Server would unlink it on close).
  auto path = temp_path();
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  ::unlink(path.c_str());
  {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    ASSERT_LT(path.size(), sizeof sa.sun_path);
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << std::strerror(errno);
    ::close(fd);
  }
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0) << "the stale socket file must exist";
  ASSERT_TRUE(S_ISSOCK(st.st_mode));
  std::string reply, error;
  ASSERT_FALSE(request(path, "status", reply, error)) << "nobody should answer yet";

  Loop loop;
  Server s(loop, [](const std::string&) { return "ok\n"; });
  // Binding over the stale file would fail (EADDRINUSE): listen() must remove it first.
  ASSERT_EQ(s.listen(path), "");

  // The new socket answers.
  bool ok = false;
  AsyncWake done(loop, [&] { loop.stop(); });
  std::thread client([&] {
    ok = request(path, "status", reply, error);
    done.send();
  });
  Timer guard(loop, [&] { loop.stop(); });
  guard.start(std::chrono::seconds(5));
  loop.run();
  client.join();
  EXPECT_TRUE(ok) << error;
  EXPECT_EQ(reply, "ok\n");
}

TEST(ControlClient, ClearErrorWhenNoDaemon) {
  std::string reply, error;
  EXPECT_FALSE(request("/tmp/hd-no-such-dir/none.sock", "status", reply, error));
  EXPECT_NE(error.find("is hadirector running?"), std::string::npos);
}

}  // namespace
}  // namespace hd::control
