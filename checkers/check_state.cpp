// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/check_state.h"

#include <algorithm>

namespace hd::checkers {

CheckState::CheckState(Hysteresis h, TimePoint created)
    : h_(h), up_(h.initial_up), since_(created) {
  h_.rise = std::max(1, h_.rise);
  h_.fall = std::max(1, h_.fall);
}

std::optional<Transition> CheckState::on_result(const Result& r, TimePoint now) {
  ++checks_;
  last_ = r;
  if (r.inconclusive()) {
    ++inconclusive_total_;
    return std::nullopt;
  }
  // Saturate rather than overflow on a check that stays the same for years.
  auto bump = [](int& n) {
    if (n < 1'000'000'000) ++n;
  };
  if (r.ok()) {
    bump(successes_);
    failures_ = 0;
  } else {
    ++failures_total_;
    bump(failures_);
    successes_ = 0;
  }

  Transition t{up_, up_, weight_, r, now};
  if (!up_ && successes_ >= h_.rise) {
    up_ = true;
    weight_ = r.weight;
  } else if (up_ && failures_ >= h_.fall) {
    up_ = false;
    weight_.reset();
  } else if (up_ && r.ok() && r.weight != weight_) {
    weight_ = r.weight;
  } else {
    return std::nullopt;
  }
  t.up = up_;
  t.weight = weight_;
  ++transitions_;
  if (!t.weight_only()) {
    since_ = now;
    cause_ = r;
  }
  return t;
}

}  // namespace hd::checkers
