// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/check_state.h"

#include <algorithm>

namespace hd::checkers {

// Every field of a Result is kept: a new one must be added to StoredResult too.
static_assert(sizeof(Result) == 48, "StoredResult keeps reason, code, detail and weight");

StoredResult& StoredResult::operator=(const StoredResult& o) {
  if (this == &o) return *this;
  detail_ = o.detail_ ? std::make_unique<const std::string>(*o.detail_) : nullptr;
  code_ = o.code_;
  weight_ = o.weight_;
  reason_ = o.reason_;
  has_weight_ = o.has_weight_;
  set_ = o.set_;
  return *this;
}

StoredResult& StoredResult::operator=(const Result& r) {
  if (r.detail.empty())
    detail_.reset();
  else if (!detail_ || *detail_ != r.detail)
    detail_ = std::make_unique<const std::string>(r.detail);
  code_ = r.code;
  weight_ = r.weight.value_or(0);
  has_weight_ = r.weight.has_value();
  reason_ = static_cast<uint8_t>(r.reason);
  set_ = true;
  return *this;
}

std::optional<Result> StoredResult::get() const {
  if (!set_) return std::nullopt;
  Result r;
  r.reason = static_cast<Reason>(reason_);
  r.code = code_;
  if (detail_) r.detail = *detail_;
  if (has_weight_) r.weight = weight_;
  return r;
}

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
