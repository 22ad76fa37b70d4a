// SPDX-License-Identifier: GPL-2.0-or-later
// One asynchronous probe of one target, run on a Loop: start() returns at
// once, the result comes later through the callback, from the loop. A probe
// object is reused for every run of its check; it never runs twice at once.
#pragma once
#include <functional>
#include <memory>

#include "checkers/result.h"
#include "checkers/spec.h"
#include "core/loop.h"

namespace hd::checkers {

class CurlMulti;
class SynProber;

using ProbeDone = std::function<void(Result)>;

class Probe {
 public:
  virtual ~Probe() = default;
  // Starts one run. `done` is called exactly once, from the loop, never from
  // inside start(), and after the probe has released what the run used, so
  // `done` may start the next run at once, but must not destroy the probe
  // (the caller's stack still runs in it). Not while running().
  virtual void start(ProbeDone done) = 0;
  // Abandons the run in progress, if any: `done` is not called.
  virtual void cancel() = 0;
  virtual bool running() const = 0;
  // Whether the Checker keeps this probe between runs. Most probes hold nothing worth
  // keeping (a socket is opened per run), so the Checker creates one per run and frees it
  // after: 10,000 idle probes would cost ~8 MB. HTTP keeps its libcurl handle (and with it
  // what libcurl caches: connections, TLS sessions).
  virtual bool keep_between_runs() const { return false; }
};

// What probes share on one loop: the loop, and (created on first use) the
// libcurl multi handle that drives every HTTP check on it, and the raw
// sockets of every half-open TCP check on it.
class ProbeContext {
 public:
  explicit ProbeContext(Loop& loop);
  ~ProbeContext();
  ProbeContext(const ProbeContext&) = delete;
  ProbeContext& operator=(const ProbeContext&) = delete;
  Loop& loop() const { return loop_; }
  CurlMulti& curl();
  SynProber& syn();
  const SynProber* syn_prober() const { return syn_.get(); }  // null until first used

 private:
  Loop& loop_;
  std::unique_ptr<CurlMulti> curl_;
  std::unique_ptr<SynProber> syn_;
};

// The probe of `target` for spec.type (the spec's own address and port are not read: the
// Checker shares one spec between the checks that differ only in their targets); for a
// spec that validate() rejects, a probe that always fails with Reason::invalid_check.
std::unique_ptr<Probe> make_probe(ProbeContext& ctx, SpecPtr spec, const Endpoint& target);
inline std::unique_ptr<Probe> make_probe(ProbeContext& ctx, const Spec& spec) {
  return make_probe(ctx, std::make_shared<const Spec>(spec), endpoint_of(spec));
}

}  // namespace hd::checkers
