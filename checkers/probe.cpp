// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/probe.h"

#include <exception>

#include "checkers/curl_multi.h"
#include "checkers/file_check.h"
#include "checkers/http_check.h"
#include "checkers/ping_check.h"
#include "checkers/script_check.h"
#include "checkers/syn_prober.h"
#include "checkers/tcp_check.h"
#include "checkers/udp_check.h"

namespace hd::checkers {
namespace {

// A spec validate() rejects: every run fails with the reason, so the target
// shows down with "invalid check: ..." instead of disappearing.
class InvalidProbe final : public Probe {
 public:
  InvalidProbe(Loop& loop, std::string why)
      : why_(std::move(why)), defer_(loop, [this] {
          ProbeDone done = std::move(done_);
          done_ = nullptr;
          if (done) done(Result::failure(Reason::invalid_check, 0, why_));
        }) {}
  void start(ProbeDone done) override {
    done_ = std::move(done);
    defer_.start(Duration::zero());
  }
  void cancel() override {
    defer_.stop();
    done_ = nullptr;
  }
  bool running() const override { return static_cast<bool>(done_); }

 private:
  std::string why_;
  Timer defer_;
  ProbeDone done_;
};

}  // namespace

ProbeContext::ProbeContext(Loop& loop) : loop_(loop) {}
ProbeContext::~ProbeContext() = default;

CurlMulti& ProbeContext::curl() {
  if (!curl_) curl_ = std::make_unique<CurlMulti>(loop_);
  return *curl_;
}

SynProber& ProbeContext::syn() {
  if (!syn_) syn_ = std::make_unique<SynProber>(loop_);
  return *syn_;
}

std::unique_ptr<Probe> make_probe(ProbeContext& ctx, SpecPtr spec, const Endpoint& target) {
  if (auto why = validate(*spec, target)) return std::make_unique<InvalidProbe>(ctx.loop(), *why);
  switch (spec->type) {
    case CheckType::tcp: {
      SynProber* syn = spec->half_open ? &ctx.syn() : nullptr;
      return std::make_unique<TcpProbe>(ctx.loop(), std::move(spec), target, syn);
    }
    case CheckType::http:
    case CheckType::https:
    case CheckType::smtp:
      try {
        return std::make_unique<HttpProbe>(ctx.curl(), std::move(spec), target);
      } catch (const std::exception& e) {  // curl_easy_init failed: out of memory
        return std::make_unique<InvalidProbe>(ctx.loop(), e.what());
      }
    case CheckType::script:
      return std::make_unique<ScriptProbe>(ctx.loop(), std::move(spec));
    case CheckType::udp:
    case CheckType::dns:
      return std::make_unique<UdpProbe>(ctx.loop(), std::move(spec), target);
    case CheckType::ping:
      return std::make_unique<PingProbe>(ctx.loop(), std::move(spec), target);
    case CheckType::file:
      return std::make_unique<FileProbe>(ctx.loop(), std::move(spec));
  }
  return std::make_unique<InvalidProbe>(ctx.loop(), "unknown check type");
}

}  // namespace hd::checkers
