// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/metrics_subsystem.h"

#include "core/log.h"

namespace hd {

MetricsSubsystem::MetricsSubsystem(Loop& loop, std::function<std::string()> render,
                                   std::function<std::string()> health)
    : render_(std::move(render)), health_(std::move(health)), loop_(loop) {}

metrics::HttpResponse MetricsSubsystem::handle(std::string_view path) {
  if (path == "/metrics") {
    ++scrapes_;
    auto t0 = std::chrono::steady_clock::now();
    metrics::HttpResponse r{200, "text/plain; version=0.0.4; charset=utf-8", render_()};
    last_render_ = std::chrono::steady_clock::now() - t0;
    return r;
  }
  if (path == "/healthz") {
    auto why = health_();
    if (why.empty()) return {200, "text/plain; charset=utf-8", "ok\n"};
    ++unhealthy_answers_;
    return {503, "text/plain; charset=utf-8", why + "\n"};
  }
  ++not_found_;
  return {404, "text/plain; charset=utf-8", "not found: try /metrics or /healthz\n"};
}

std::unique_ptr<metrics::HttpServer> MetricsSubsystem::make_server() {
  return std::make_unique<metrics::HttpServer>(
      loop_, [this](std::string_view path) { return handle(path); });
}

// Binds the new endpoint before the old one goes, so a reload to an address that cannot be
// bound fails and leaves the running endpoint as it was.
std::string MetricsSubsystem::apply(const std::optional<config::MetricsEndpoint>& want) {
  if (want == endpoint_) return "";
  std::unique_ptr<metrics::HttpServer> next;
  if (want) {
    next = make_server();
    if (auto err = next->listen(want->address, want->port); !err.empty()) {
      // Linux refuses 10.0.0.1:P while 0.0.0.0:P listens (and the reverse), even with
      // SO_REUSEADDR: moving between a wildcard and an address on the same port needs the
      // old socket closed first. If the new one still cannot bind, the old one comes back.
      if (!server_ || !endpoint_ || server_->port() != want->port ||
          endpoint_->address.is_v4() != want->address.is_v4())
        return err;
      const int old_port = server_->port();
      server_.reset();
      if (auto again = next->listen(want->address, want->port); !again.empty()) {
        server_ = make_server();
        if (auto back = server_->listen(endpoint_->address, old_port); !back.empty()) {
          server_.reset();
          endpoint_.reset();
          return again + "; and the old endpoint could not be bound again: " + back;
        }
        return again;
      }
    }
    config::MetricsEndpoint bound = *want;
    bound.port = next->port();  // differs from the config's only for port 0 (tests)
    HD_LOG(info, "metrics") << "serving /metrics and /healthz on http://"
                            << config::to_string(bound);
  } else {
    HD_LOG(info, "metrics") << "endpoint closed";
  }
  server_ = std::move(next);
  endpoint_ = want;
  return "";
}

std::string MetricsSubsystem::start(const config::Config& cfg) { return apply(cfg.global.metrics); }

std::string MetricsSubsystem::reload(const config::Config&, const config::Config& new_cfg) {
  return apply(new_cfg.global.metrics);
}

void MetricsSubsystem::stop() {
  server_.reset();
  endpoint_.reset();
}

void MetricsSubsystem::status(JsonWriter& w) const {
  w.key("metrics");
  if (!endpoint_) {
    w.null();
    return;
  }
  w.begin_object();
  w.field("listen", config::to_string(*endpoint_));
  w.field("scrapes", scrapes_).field("not_found", not_found_);
  w.field("unhealthy_answers", unhealthy_answers_);
  w.field("refused_methods", server_ ? server_->refused() : 0);
  w.field("last_render_ms", std::chrono::duration<double, std::milli>(last_render_).count());
  w.end_object();
}

void MetricsSubsystem::status_text(std::string& out) const {
  if (endpoint_) out += "metrics on http://" + config::to_string(*endpoint_) + "/metrics\n";
}

void MetricsSubsystem::metrics(metrics::Writer& w) const {
  if (!endpoint_) return;
  w.counter("hadirector_metrics_scrapes_total", "Requests for /metrics served.");
  w.sample(static_cast<double>(scrapes_));
  w.gauge("hadirector_metrics_last_render_seconds",
          "Main-loop time the previous /metrics response took to build.");
  w.sample(std::chrono::duration<double>(last_render_).count());
}

}  // namespace hd
