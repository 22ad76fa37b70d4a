// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/metrics_subsystem.h"

#include "core/log.h"

namespace hd {

struct MetricsSubsystem::Job {
  metrics::Writer writer;
  metrics::Steps steps;
  size_t at = 0;
  int restarts = 0;
  Duration busy{};
  Duration turn_max{};
  int turns = 0;
  metrics::HttpServer::Later later;
  std::unique_ptr<Timer> next;
};

MetricsSubsystem::MetricsSubsystem(Loop& loop, std::function<metrics::Steps()> steps,
                                   std::function<std::string()> health)
    : steps_(std::move(steps)),
      health_(std::move(health)),
      loop_(loop),
      spare_release_(std::make_unique<Timer>(loop, [this] {
        spare_->chunks.clear();
        spare_->wanted = false;
      })) {}

metrics::Writer MetricsSubsystem::fresh_writer() {
  spare_release_->stop();
  std::vector<std::string> chunks = std::move(spare_->chunks);
  spare_->chunks.clear();
  if (!chunks.empty()) ++reused_buffers_;
  return metrics::Writer(std::move(chunks));
}

MetricsSubsystem::~MetricsSubsystem() {
  jobs_.clear();  // their timers first
  server_.reset();
}

namespace {
constexpr const char* kTextFormat = "text/plain; version=0.0.4; charset=utf-8";
}  // namespace

std::optional<metrics::HttpResponse> MetricsSubsystem::handle(std::string_view path,
                                                              metrics::HttpServer::Later later) {
  if (path == "/metrics") {
    ++scrapes_;
    // Built a slice per main-loop turn (turn()), answered when done.
    auto job = std::make_unique<Job>();
    job->writer = fresh_writer();
    job->steps = steps_();
    job->later = std::move(later);
    Job* raw = job.get();
    job->next = std::make_unique<Timer>(loop_, [this, raw] { turn(*raw); });
    jobs_.push_back(std::move(job));
    raw->next->start(Duration::zero());  // the first slice on the next turn, not in here
    return std::nullopt;
  }
  if (path == "/healthz") {
    auto why = health_();
    if (why.empty()) return metrics::HttpResponse{200, "text/plain; charset=utf-8", "ok\n"};
    ++unhealthy_answers_;
    return metrics::HttpResponse{503, "text/plain; charset=utf-8", why + "\n"};
  }
  ++not_found_;
  return metrics::HttpResponse{404, "text/plain; charset=utf-8",
                               "not found: try /metrics or /healthz\n"};
}

// One slice: steps until kSlice of the main loop is spent, then the rest on a later turn
// (a zero timer: whatever else is due, checks first among them, runs in between).
void MetricsSubsystem::turn(Job& job) {
  const auto t0 = SteadyClock::now();
  while (job.at < job.steps.size()) {
    const auto r = job.steps[job.at](job.writer);
    if (r == metrics::StepResult::done) {
      ++job.at;
    } else if (r == metrics::StepResult::stale) {
      // What the scrape read changed under it (a reload): start over, at most three times;
      // then build it whole in this turn, which a reload cannot interrupt.
      ++restarts_;
      job.writer = metrics::Writer(job.writer.take_chunks());  // its chunks written again
      job.steps = steps_();
      job.at = 0;
      if (++job.restarts > 3) {
        metrics::run_all(job.steps, job.writer);
        job.at = job.steps.size();
        break;
      }
    }
    if (SteadyClock::now() - t0 >= kSlice) break;
  }
  const Duration spent = SteadyClock::now() - t0;
  job.busy += spent;
  job.turn_max = std::max(job.turn_max, spent);
  ++job.turns;
  if (job.at < job.steps.size()) {
    job.next->start(Duration::zero());
    return;
  }
  last_render_ = job.busy;
  last_render_turn_max_ = job.turn_max;
  last_render_turns_ = job.turns;
  auto later = std::move(job.later);
  std::vector<std::string> chunks = job.writer.take_chunks();
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it)
    if (it->get() == &job) {
      jobs_.erase(it);  // `job` is gone from here on
      break;
    }
  spare_->wanted = true;
  spare_release_->start(kSpareKept);
  metrics::HttpResponse response{200, kTextFormat, "", std::move(chunks), {}};
  response.recycle = [spare = std::weak_ptr<Spare>(spare_)](std::vector<std::string>&& used) {
    auto s = spare.lock();  // none once this subsystem is gone
    if (s && s->wanted && used.size() > s->chunks.size()) s->chunks = std::move(used);
  };
  later(std::move(response));
}

std::unique_ptr<metrics::HttpServer> MetricsSubsystem::make_server() {
  return std::make_unique<metrics::HttpServer>(
      loop_, [this](std::string_view path, metrics::HttpServer::Later later) {
        return handle(path, std::move(later));
      });
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
  jobs_.clear();
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
  // Main-loop time of the last /metrics response, all its slices together, and its longest
  // slice (what a check due meanwhile may have waited).
  w.field("last_render_ms", std::chrono::duration<double, std::milli>(last_render_).count());
  w.field("last_render_turn_max_ms",
          std::chrono::duration<double, std::milli>(last_render_turn_max_).count());
  w.field("last_render_turns", last_render_turns_);
  w.field("restarts", restarts_);
  w.field("reused_buffers", reused_buffers_);  // scrapes written into the last one's memory
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
          "Main-loop time the previous /metrics response took to build (all its slices).");
  w.sample(std::chrono::duration<double>(last_render_).count());
  w.gauge("hadirector_metrics_last_render_slice_max_seconds",
          "The longest main-loop slice of the previous /metrics response.");
  w.sample(std::chrono::duration<double>(last_render_turn_max_).count());
}

}  // namespace hd
