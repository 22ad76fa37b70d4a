// SPDX-License-Identifier: GPL-2.0-or-later
// [global] metrics: the HTTP endpoint Prometheus scrapes. GET /metrics is every subsystem's
// families in the text format (docs/metrics.md), GET /healthz 200 or 503 with the reason,
// anything else 404. A subsystem like the others, so that a reload that moves the endpoint
// to an address it cannot bind fails whole and keeps the old one.
#pragma once
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "core/loop.h"
#include "daemon/metrics/http_server.h"
#include "daemon/subsystem.h"

namespace hd {

class MetricsSubsystem : public Subsystem {
 public:
  // steps: a fresh list of the /metrics text's steps (metrics::Step), run a slice of at most
  // kSlice of the main loop per turn; health: "" when healthy, else why not.
  MetricsSubsystem(Loop& loop, std::function<metrics::Steps()> steps,
                   std::function<std::string()> health);
  ~MetricsSubsystem() override;
  static constexpr Duration kSlice = std::chrono::milliseconds(2);
  std::string_view name() const override { return "metrics"; }
  std::string start(const config::Config& cfg) override;
  std::string reload(const config::Config& old_cfg, const config::Config& new_cfg) override;
  void stop() override;
  void status(JsonWriter& w) const override;
  void status_text(std::string& out) const override;
  void metrics(metrics::Writer& w) const override;
  int port() const { return server_ ? server_->port() : 0; }  // bound port (tests bind 0)

 private:
  std::optional<metrics::HttpResponse> handle(std::string_view path,
                                             metrics::HttpServer::Later later);
  // A /metrics response being built, a slice per main-loop turn.
  struct Job;
  void turn(Job& job);
  std::list<std::unique_ptr<Job>> jobs_;
  std::unique_ptr<metrics::HttpServer> make_server();  // answering with handle()
  std::string apply(const std::optional<config::MetricsEndpoint>& want);

  std::function<metrics::Steps()> steps_;
  std::function<std::string()> health_;
  Loop& loop_;
  std::unique_ptr<metrics::HttpServer> server_;
  std::optional<config::MetricsEndpoint> endpoint_;
  uint64_t scrapes_ = 0;
  uint64_t not_found_ = 0;
  uint64_t unhealthy_answers_ = 0;
  Duration last_render_{};           // main-loop time, all slices together
  Duration last_render_turn_max_{};  // the longest slice
  int last_render_turns_ = 0;
  uint64_t restarts_ = 0;  // scrapes started over (a reload while they were built)
  // The last response's chunks, given back once sent, for the next scrape to write into: fresh
  // memory costs a page fault per 4 KiB (~20 ms a scrape at 10,000 real servers here). Freed
  // when no scrape came for kSpareKept.
  static constexpr Duration kSpareKept = std::chrono::minutes(2);
  struct Spare {
    std::vector<std::string> chunks;
    bool wanted = false;  // a response given back after kSpareKept is freed, not kept
  };
  std::shared_ptr<Spare> spare_ = std::make_shared<Spare>();
  std::unique_ptr<Timer> spare_release_;
  uint64_t reused_buffers_ = 0;
  metrics::Writer fresh_writer();
};

}  // namespace hd
