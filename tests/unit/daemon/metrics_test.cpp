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
  metrics::HttpServer server(loop, [&](std::string_view path, metrics::HttpServer::Later) {
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
  metrics::HttpServer a(loop, [](std::string_view, metrics::HttpServer::Later) { return metrics::HttpResponse{}; });
  ASSERT_EQ(a.listen(*IpAddress::parse("127.0.0.1"), 0), "");
  metrics::HttpServer b(loop, [](std::string_view, metrics::HttpServer::Later) { return metrics::HttpResponse{}; });
  auto err = b.listen(*IpAddress::parse("127.0.0.1"), a.port());
  EXPECT_EQ(err, "metrics endpoint 127.0.0.1:" + std::to_string(a.port()) +
                     ": Address already in use");
  EXPECT_FALSE(b.listening());
}

TEST(HttpServer, ServesIpv6) {
  Loop loop;
  metrics::HttpServer server(loop, [](std::string_view, metrics::HttpServer::Later) {
    return metrics::HttpResponse{200, "text/plain", "six"};
  });
  ASSERT_EQ(server.listen(*IpAddress::parse("::1"), 0), "");
  Reply r;
  serve_while(loop, [&] { r = fetch("http://[::1]:" + std::to_string(server.port()) + "/"); });
  EXPECT_EQ(r.body, "six");
}

// One step: the family hd_x with one sample.
constexpr const char* kX = "# HELP hd_x x\n# TYPE hd_x gauge\nhd_x 1\n";
metrics::Steps x_steps() {
  metrics::Steps steps;
  steps.push_back([](metrics::Writer& w) {
    w.gauge("hd_x", "x");
    w.sample(1);
    return metrics::StepResult::done;
  });
  return steps;
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
      loop, [] { return x_steps(); }, [&] { return health; });
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
  EXPECT_EQ(metrics.body, kX);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(sick.status, 503);
  EXPECT_EQ(sick.body, "vrrp: VI_1 is FAULT\n");
  EXPECT_EQ(well.status, 200);
  EXPECT_EQ(other.status, 404);
}

TEST(MetricsSubsystem, AReloadToAnAddressInUseFailsAndKeepsTheEndpoint) {
  Loop loop;
  MetricsSubsystem m(loop, [] { return x_steps(); }, [] { return std::string(); });
  ASSERT_EQ(m.start(with_endpoint(0)), "");
  const int port = m.port();
  metrics::HttpServer squatter(loop, [](std::string_view, metrics::HttpServer::Later) { return metrics::HttpResponse{}; });
  ASSERT_EQ(squatter.listen(*IpAddress::parse("127.0.0.1"), 0), "");
  auto err = m.reload(with_endpoint(0), with_endpoint(squatter.port()));
  EXPECT_THAT(err, HasSubstr("Address already in use"));
  EXPECT_EQ(m.port(), port);
  Reply r;
  serve_while(loop, [&] { r = fetch("http://127.0.0.1:" + std::to_string(port) + "/metrics"); });
  EXPECT_EQ(r.body, kX);
  // Removing the section closes it.
  EXPECT_EQ(m.reload(with_endpoint(port), config::Config{}), "");
  EXPECT_EQ(m.port(), 0);
}

// Linux will not bind 127.0.0.1:P while 0.0.0.0:P listens: narrowing the endpoint to one
// address on the same port closes the wildcard first.
TEST(MetricsSubsystem, AReloadMovesFromTheWildcardToOneAddressOnTheSamePort) {
  Loop loop;
  MetricsSubsystem m(loop, [] { return x_steps(); }, [] { return std::string(); });
  ASSERT_EQ(m.start(with_endpoint(0, "0.0.0.0")), "");
  const int port = m.port();
  ASSERT_EQ(m.reload(with_endpoint(0, "0.0.0.0"), with_endpoint(port)), "");
  EXPECT_EQ(m.port(), port);
  Reply r;
  serve_while(loop, [&] { r = fetch("http://127.0.0.1:" + std::to_string(port) + "/metrics"); });
  EXPECT_EQ(r.body, kX);
}

TEST(HttpServer, AnswersLaterWhenTheHandlerSaysSo) {
  Loop loop;
  metrics::HttpServer::Later pending;
  Timer soon(loop, [&] { pending(metrics::HttpResponse{200, "text/plain", "later"}); });
  metrics::HttpServer server(loop, [&](std::string_view, metrics::HttpServer::Later later)
                                       -> std::optional<metrics::HttpResponse> {
    pending = later;
    soon.start(Millis(30));
    return std::nullopt;
  });
  ASSERT_EQ(server.listen(*IpAddress::parse("127.0.0.1"), 0), "");
  Reply r;
  const auto t0 = SteadyClock::now();
  serve_while(loop, [&] { r = fetch("http://127.0.0.1:" + std::to_string(server.port()) + "/"); });
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "later");
  EXPECT_GE(SteadyClock::now() - t0, Millis(30));
  pending(metrics::HttpResponse{500, "text/plain", "twice"});  // after the request: nothing
}

// A big family in many slices: the text is the same as written at once, it is built over
// several main-loop turns, and a scrape whose state changes under it starts over.
TEST(MetricsSubsystem, BuildsABigResponseInSlicesAndStartsOverWhenStale) {
  Loop loop;
  std::map<std::string, int> rows;
  for (int i = 0; i < 5000; ++i) rows["r" + std::to_string(100000 + i)] = i;
  uint64_t gen = 0;
  int stale_once = 1;
  auto steps = [&] {
    metrics::Steps out;
    const uint64_t g = gen;
    out.push_back(metrics::map_family(
        rows, 100, [&, g] { return gen == g; },
        [](metrics::Writer& w) { w.gauge("hd_row", "A row."); },
        [&](metrics::Writer& w, const std::pair<const std::string, int>& e) {
          // Slow enough that a slice fills its 2 ms before the family is done.
          const auto until = SteadyClock::now() + std::chrono::microseconds(3);
          while (SteadyClock::now() < until) {
          }
          w.sample({{"row", e.first}}, e.second);
          if (e.second == 4000 && stale_once-- > 0) ++gen;  // a reload, mid-scrape
        }));
    return out;
  };
  MetricsSubsystem m(loop, steps, [] { return std::string(); });
  ASSERT_EQ(m.start(with_endpoint(0)), "");
  Reply r;
  serve_while(loop, [&] { r = fetch("http://127.0.0.1:" + std::to_string(m.port()) + "/metrics"); });
  metrics::Writer whole;
  metrics::run_all(steps(), whole);
  EXPECT_EQ(r.body, whole.text());
  EXPECT_EQ(r.body.find("hd_row{row=\"r100000\"} 0\n"), r.body.find("hd_row{"));
  JsonWriter j;
  j.begin_object();
  m.status(j);
  j.end_object();
  EXPECT_THAT(j.str(), HasSubstr("\"restarts\":1"));
  EXPECT_THAT(j.str(), ::testing::Not(HasSubstr("\"last_render_turns\":1,")));
}

// A scrape writes into the chunks of the one before, once it was sent: their pages are mapped
// already (a fresh 8 MB text cost ~20 ms of page faults a scrape at 10,000 real servers), and
// a body of many chunks arrives whole.
TEST(MetricsSubsystem, AScrapeWritesIntoThePreviousResponsesChunks) {
  Loop loop;
  auto steps = [&] {
    metrics::Steps out;
    out.push_back([&](metrics::Writer& w) {
      w.gauge("hd_big", "Big.");
      for (int i = 0; i < 40000; ++i) w.sample({{"row", std::to_string(i)}}, i);
      return metrics::StepResult::done;
    });
    return out;
  };
  MetricsSubsystem m(loop, steps, [] { return std::string(); });
  ASSERT_EQ(m.start(with_endpoint(0)), "");
  const std::string url = "http://127.0.0.1:" + std::to_string(m.port()) + "/metrics";
  std::vector<std::string> bodies;
  for (int k = 0; k < 3; ++k) serve_while(loop, [&] { bodies.push_back(fetch(url).body); });
  metrics::Writer whole;
  metrics::run_all(steps(), whole);
  ASSERT_GT(whole.size(), 3 * metrics::Writer::kChunk) << "several chunks";
  for (auto& b : bodies) EXPECT_EQ(b, whole.text());
  JsonWriter j;
  j.begin_object();
  m.status(j);
  j.end_object();
  EXPECT_THAT(j.str(), HasSubstr("\"reused_buffers\":2")) << "the 2nd and 3rd scrapes";
}

TEST(HttpServer, AHandlerThatThrowsAnswers500) {
  Loop loop;
  metrics::HttpServer server(
      loop, [](std::string_view, metrics::HttpServer::Later) -> std::optional<metrics::HttpResponse> {
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
