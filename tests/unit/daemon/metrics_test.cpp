// SPDX-License-Identifier: GPL-2.0-or-later
// The metrics endpoint for real: libmicrohttpd on our loop, asked over TCP by libcurl.
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "daemon/director.h"
#include "daemon/metrics/http_server.h"
#include "daemon/metrics_subsystem.h"

namespace hd {
namespace {

using ::testing::HasSubstr;

struct Reply {
  long status = 0;
  std::string body;
  std::string content_type;
};

size_t collect(char* p, size_t n, size_t m, void* out) {
  static_cast<std::string*>(out)->append(p, n * m);
  return n * m;
}

Reply fetch(const std::string& url, const char* method = "GET") {
  Reply r;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (std::string(method) == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  if (curl_easy_perform(c) == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    char* ct = nullptr;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) r.content_type = ct;
  }
  curl_easy_cleanup(c);
  return r;
}

// Runs `client` on a thread while the loop serves; returns when the client is done.
void serve_while(Loop& loop, const std::function<void()>& client) {
  std::atomic<bool> done{false};
  AsyncWake wake(loop, [&] { loop.stop(); });
  std::thread t([&] {
    client();
    done = true;
    wake.send();
  });
  while (!done) loop.run();
  t.join();
}

TEST(HttpServer, AnswersGetAndHeadRefusesOtherMethods) {
  Loop loop;
  std::vector<std::string> paths;
  metrics::HttpServer server(loop, [&](std::string_view path) {
    paths.emplace_back(path);
    return metrics::HttpResponse{path == "/x" ? 200 : 404, "text/plain", "body of " +
                                                                              std::string(path)};
  });
  ASSERT_EQ(server.listen(*IpAddress::parse("127.0.0.1"), 0), "");
  ASSERT_GT(server.port(), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  Reply get, missing, head, post;
  serve_while(loop, [&] {
    get = fetch(base + "/x");
    missing = fetch(base + "/nope");
    head = fetch(base + "/x", "HEAD");
    post = fetch(base + "/x", "POST");
  });
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "body of /x");
  EXPECT_EQ(get.content_type, "text/plain");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(server.refused(), 1u);
  EXPECT_THAT(paths, ::testing::ElementsAre("/x", "/nope", "/x"));
}

TEST(HttpServer, ABindErrorNamesTheAddress) {
  Loop loop;
  metrics::HttpServer a(loop, [](std::string_view) { return metrics::HttpResponse{}; });
  ASSERT_EQ(a.listen(*IpAddress::parse("127.0.0.1"), 0), "");
  metrics::HttpServer b(loop, [](std::string_view) { return metrics::HttpResponse{}; });
  auto err = b.listen(*IpAddress::parse("127.0.0.1"), a.port());
  EXPECT_EQ(err, "metrics endpoint 127.0.0.1:" + std::to_string(a.port()) +
                     ": Address already in use");
  EXPECT_FALSE(b.listening());
}

TEST(HttpServer, ServesIpv6) {
  Loop loop;
  metrics::HttpServer server(loop, [](std::string_view) {
    return metrics::HttpResponse{200, "text/plain", "six"};
  });
  ASSERT_EQ(server.listen(*IpAddress::parse("::1"), 0), "");
  Reply r;
  serve_while(loop, [&] { r = fetch("http://[::1]:" + std::to_string(server.port()) + "/"); });
  EXPECT_EQ(r.body, "six");
}

config::Config with_endpoint(int port, const char* address = "127.0.0.1") {
  config::Config c;
  c.global.metrics = config::MetricsEndpoint{*IpAddress::parse(address), port};
  return c;
}

TEST(MetricsSubsystem, ServesMetricsHealthzAnd404) {
  Loop loop;
  std::string health = "vrrp: VI_1 is FAULT";
  MetricsSubsystem m(
      loop, [] { return std::string("hd_x 1\n"); }, [&] { return health; });
  ASSERT_EQ(m.start(with_endpoint(0)), "");
  const std::string base = "http://127.0.0.1:" + std::to_string(m.port());
  Reply metrics, sick, well, other;
  serve_while(loop, [&] {
    metrics = fetch(base + "/metrics");
    sick = fetch(base + "/healthz");
    health.clear();  // the loop thread reads it only while serving a request
    well = fetch(base + "/healthz");
    other = fetch(base + "/");
  });
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body, "hd_x 1\n");
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(sick.status, 503);
  EXPECT_EQ(sick.body, "vrrp: VI_1 is FAULT\n");
  EXPECT_EQ(well.status, 200);
  EXPECT_EQ(other.status, 404);
}

TEST(MetricsSubsystem, AReloadToAnAddressInUseFailsAndKeepsTheEndpoint) {
  Loop loop;
  MetricsSubsystem m(loop, [] { return std::string("hd_x 1\n"); }, [] { return std::string(); });
  ASSERT_EQ(m.start(with_endpoint(0)), "");
  const int port = m.port();
  metrics::HttpServer squatter(loop, [](std::string_view) { return metrics::HttpResponse{}; });
  ASSERT_EQ(squatter.listen(*IpAddress::parse("127.0.0.1"), 0), "");
  auto err = m.reload(with_endpoint(0), with_endpoint(squatter.port()));
  EXPECT_THAT(err, HasSubstr("Address already in use"));
  EXPECT_EQ(m.port(), port);
  Reply r;
  serve_while(loop, [&] { r = fetch("http://127.0.0.1:" + std::to_string(port) + "/metrics"); });
  EXPECT_EQ(r.body, "hd_x 1\n");
  // Removing the section closes it.
  EXPECT_EQ(m.reload(with_endpoint(port), config::Config{}), "");
  EXPECT_EQ(m.port(), 0);
}

// Linux will not bind 127.0.0.1:P while 0.0.0.0:P listens: narrowing the endpoint to one
// address on the same port closes the wildcard first.
TEST(MetricsSubsystem, AReloadMovesFromTheWildcardToOneAddressOnTheSamePort) {
  Loop loop;
  MetricsSubsystem m(loop, [] { return std::string("hd_x 1\n"); }, [] { return std::string(); });
  ASSERT_EQ(m.start(with_endpoint(0, "0.0.0.0")), "");
  const int port = m.port();
  ASSERT_EQ(m.reload(with_endpoint(0, "0.0.0.0"), with_endpoint(port)), "");
  EXPECT_EQ(m.port(), port);
  Reply r;
  serve_while(loop, [&] { r = fetch("http://127.0.0.1:" + std::to_string(port) + "/metrics"); });
  EXPECT_EQ(r.body, "hd_x 1\n");
}

TEST(HttpServer, AHandlerThatThrowsAnswers500) {
  Loop loop;
  metrics::HttpServer server(loop, [](std::string_view) -> metrics::HttpResponse {
    throw std::runtime_error("out of something");
  });
  ASSERT_EQ(server.listen(*IpAddress::parse("127.0.0.1"), 0), "");
  Reply r;
  serve_while(loop, [&] { r = fetch("http://127.0.0.1:" + std::to_string(server.port()) + "/"); });
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "error: out of something\n");
}

}  // namespace
}  // namespace hd
