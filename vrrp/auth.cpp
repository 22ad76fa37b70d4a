// SPDX-License-Identifier: GPL-2.0-or-later
#include "vrrp/auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <time.h>

#include <algorithm>
#include <memory>

namespace hd::vrrp {
namespace {

// Bound into every MAC: a MAC made for something else with the same key never verifies here.
constexpr std::string_view kLabel = "hadirector VRRP HMAC-SHA256 v1";

void put_header(uint8_t* out, uint8_t key_id, uint64_t sequence) {
  out[0] = kAuthTypeHmacSha256;
  out[1] = key_id;
  out[2] = static_cast<uint8_t>(kAuthTrailerSize >> 8);
  out[3] = static_cast<uint8_t>(kAuthTrailerSize);
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<uint8_t>(sequence >> (56 - 8 * i));
}

struct MacDeleter {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
struct CtxDeleter {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

// Fetched once (thread-safe static init): EVP_MAC_fetch is a lookup in OpenSSL's tables.
EVP_MAC* hmac() {
  static std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  return mac.get();
}

}  // namespace

std::string_view to_string(AuthMode m) {
  switch (m) {
    case AuthMode::enforce:
      return "enforce";
    case AuthMode::permissive:
      return "permissive";
    case AuthMode::receive_only:
      return "receive-only";
  }
  return "?";
}

std::string_view to_string(AntiReplay a) {
  return a == AntiReplay::time ? "time" : "monotonic";
}

std::string_view to_string(AuthVerdict v) {
  switch (v) {
    case AuthVerdict::verified:
      return "verified";
    case AuthVerdict::unsigned_accepted:
      return "unsigned_accepted";
    case AuthVerdict::unsigned_rejected:
      return "unsigned";
    case AuthVerdict::malformed:
      return "malformed";
    case AuthVerdict::unknown_key:
      return "unknown_key";
    case AuthVerdict::bad_mac:
      return "bad_mac";
    case AuthVerdict::stale:
      return "stale";
    case AuthVerdict::replayed:
      return "replayed";
  }
  return "?";
}

uint64_t AuthCounters::rejected() const {
  uint64_t n = 0;
  for (size_t i = 0; i < kAuthVerdictCount; ++i)
    if (!accepted(static_cast<AuthVerdict>(i))) n += by_verdict[i];
  return n;
}

const AuthKey* AuthConfig::key(uint8_t id) const {
  for (const AuthKey& k : keys)
    if (k.id == id) return &k;
  return nullptr;
}

std::optional<Trailer> parse_trailer(std::span<const uint8_t> t) {
  if (t.size() != kAuthTrailerSize) return std::nullopt;
  if (t[0] != kAuthTypeHmacSha256) return std::nullopt;
  if ((size_t(t[2]) << 8 | t[3]) != kAuthTrailerSize) return std::nullopt;
  Trailer out;
  out.key_id = t[1];
  for (int i = 0; i < 8; ++i) out.sequence = out.sequence << 8 | t[4 + i];
  std::copy_n(t.begin() + 12, kAuthMacSize, out.mac.begin());
  return out;
}

std::optional<std::array<uint8_t, kAuthMacSize>> compute_mac(
    const Secret& key, uint8_t key_id, uint64_t sequence, std::span<const uint8_t> message,
    const IpAddress& src, const IpAddress& dst) {
  if (!hmac() || message.size() < kHeaderSize) return std::nullopt;
  std::unique_ptr<EVP_MAC_CTX, CtxDeleter> ctx(EVP_MAC_CTX_new(hmac()));
  if (!ctx) return std::nullopt;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!EVP_MAC_init(ctx.get(), key.bytes().data(), key.size(), params)) return std::nullopt;
  uint8_t header[12];
  put_header(header, key_id, sequence);
  const uint8_t zero_checksum[2] = {0, 0};
  auto feed = [&](const void* p, size_t n) {
    return EVP_MAC_update(ctx.get(), static_cast<const unsigned char*>(p), n) == 1;
  };
  bool ok = feed(kLabel.data(), kLabel.size()) && feed(src.bytes().data(), src.bytes().size()) &&
            feed(dst.bytes().data(), dst.bytes().size()) && feed(message.data(), 6) &&
            feed(zero_checksum, 2) && feed(message.data() + 8, message.size() - 8) &&
            feed(header, sizeof header);
  std::array<uint8_t, kAuthMacSize> out{};
  size_t len = 0;
  if (!ok || !EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) || len != out.size())
    return std::nullopt;
  return out;
}

std::vector<uint8_t> sign(std::span<const uint8_t> payload, Version version, const AuthKey& key,
                          uint64_t sequence, const IpAddress& src, const IpAddress& dst) {
  auto mac = compute_mac(key.secret, key.id, sequence, payload, src, dst);
  if (!mac) return {};
  std::vector<uint8_t> out(payload.begin(), payload.end());
  out.resize(payload.size() + kAuthTrailerSize);
  put_header(out.data() + payload.size(), key.id, sequence);
  std::copy(mac->begin(), mac->end(), out.begin() + static_cast<std::ptrdiff_t>(payload.size() + 12));
  out[6] = out[7] = 0;
  const uint16_t sum = payload_checksum(version, out, src, dst);
  out[6] = static_cast<uint8_t>(sum >> 8);
  out[7] = static_cast<uint8_t>(sum);
  return out;
}

uint64_t Authenticator::next_sequence(uint64_t now_us) {
  last_sent_ = std::max(now_us, last_sent_ + 1);
  return last_sent_;
}

std::vector<uint8_t> Authenticator::outgoing(std::vector<uint8_t> payload, Version version,
                                             const IpAddress& src, const IpAddress& dst,
                                             uint64_t now_us) {
  if (!cfg_.sends_signed()) return payload;
  const AuthKey* k = cfg_.key(cfg_.active_key);
  if (!k) return {};
  return sign(payload, version, *k, next_sequence(now_us), src, dst);
}

AuthVerdict Authenticator::check(std::span<const uint8_t> payload, size_t message_size,
                                 const RxMeta& meta, uint64_t now_us) {
  AuthVerdict v = verdict(payload, message_size, meta, now_us);
  ++counters_.by_verdict[static_cast<size_t>(v)];
  return v;
}

AuthVerdict Authenticator::verdict(std::span<const uint8_t> payload, size_t message_size,
                                   const RxMeta& meta, uint64_t now_us) {
  if (payload.size() == message_size)
    return cfg_.accepts_unsigned() ? AuthVerdict::unsigned_accepted
                                   : AuthVerdict::unsigned_rejected;
  if (payload.size() < message_size) return AuthVerdict::malformed;
  auto t = parse_trailer(payload.subspan(message_size));
  if (!t) return AuthVerdict::malformed;
  const AuthKey* k = cfg_.key(t->key_id);
  if (!k) return AuthVerdict::unknown_key;
  auto mac = compute_mac(k->secret, t->key_id, t->sequence, payload.first(message_size),
                         meta.source, meta.destination);
  if (!mac || CRYPTO_memcmp(mac->data(), t->mac.data(), kAuthMacSize) != 0)
    return AuthVerdict::bad_mac;
  if (cfg_.anti_replay == AntiReplay::time) {
    const uint64_t window =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(cfg_.window).count());
    const uint64_t diff = t->sequence > now_us ? t->sequence - now_us : now_us - t->sequence;
    if (diff > window) return AuthVerdict::stale;
  }
  auto [it, fresh] = last_seen_.try_emplace(meta.source, t->sequence);
  if (!fresh) {
    if (t->sequence <= it->second) return AuthVerdict::replayed;
    it->second = t->sequence;
  }
  return AuthVerdict::verified;
}

uint64_t wall_micros() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace hd::vrrp
