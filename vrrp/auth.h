// SPDX-License-Identifier: GPL-2.0-or-later
// Authenticated VRRP: an HMAC-SHA256 trailer after the VRRP message, with a sequence number
// against replay (docs/vrrp-auth.md has the wire layout and the reasoning).
//
// Every field before the trailer is the RFC's advert, unchanged; the trailer adds
//   type (1 byte, 1 = HMAC-SHA256) | key id (1) | length (2, = 44) | sequence (8) | MAC (32)
// and the VRRP checksum is computed over the message and the trailer together (the IP
// payload), so a decoder that sums the whole payload (tshark) sees a good checksum.
// The MAC covers a fixed label, the IP source and destination, the message with its checksum
// field zero, and the trailer's first 12 bytes. The sequence is the sender's wall clock in
// microseconds, never repeated (one more than the last when the clock has not moved on).
//
// Pure apart from OpenSSL: the receiver's wall clock is an argument, never read here.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/secret.h"
#include "vrrp/packet.h"

namespace hd::vrrp {

inline constexpr uint8_t kAuthTypeHmacSha256 = 1;
inline constexpr size_t kAuthMacSize = 32;
inline constexpr size_t kAuthTrailerSize = 12 + kAuthMacSize;  // 44
inline constexpr size_t kAuthMinKeySize = 32;                  // bytes
inline constexpr size_t kAuthMaxKeySize = 64;

// enforce: only signed adverts that verify are accepted; adverts go out signed.
// permissive: signed ones must verify, unsigned ones are accepted too (counted); sent signed.
// receive_only: as permissive on receipt, but adverts go out unsigned.
// A running pair migrates receive_only -> permissive -> enforce, one director at a time.
enum class AuthMode : uint8_t { enforce, permissive, receive_only };
// time: the sequence must be within `window` of the receiver's clock and above the last one
// seen from that sender. monotonic: above the last one seen only (no clock agreement needed;
// a receiver that restarts accepts the first sequence it sees from each sender).
enum class AntiReplay : uint8_t { time, monotonic };

std::string_view to_string(AuthMode m);
std::string_view to_string(AntiReplay a);

struct AuthKey {
  uint8_t id = 0;  // 1..255
  Secret secret;   // 32..64 bytes
  bool operator==(const AuthKey&) const = default;
};

struct AuthConfig {
  std::vector<AuthKey> keys;
  uint8_t active_key = 0;  // the key adverts are signed with (one of keys)
  AuthMode mode = AuthMode::enforce;
  AntiReplay anti_replay = AntiReplay::time;
  Duration window = std::chrono::seconds(5);  // time: how far a sequence may be from our clock

  const AuthKey* key(uint8_t id) const;
  bool sends_signed() const { return mode != AuthMode::receive_only; }
  bool accepts_unsigned() const { return mode != AuthMode::enforce; }
  bool operator==(const AuthConfig&) const = default;
};

// What became of a received advert's authentication, in the order checked.
enum class AuthVerdict : uint8_t {
  verified,           // signed, good MAC, fresh
  unsigned_accepted,  // no trailer, and the mode accepts that (permissive, receive_only)
  unsigned_rejected,  // no trailer in enforce
  malformed,          // a trailer of the wrong size, type or length field
  unknown_key,        // a key id we do not have
  bad_mac,            // the MAC does not verify with that key
  stale,              // time: the sequence is outside the window of our clock
  replayed,           // the sequence is not above the last one accepted from that sender
};
inline constexpr size_t kAuthVerdictCount = static_cast<size_t>(AuthVerdict::replayed) + 1;
std::string_view to_string(AuthVerdict v);
inline bool accepted(AuthVerdict v) {
  return v == AuthVerdict::verified || v == AuthVerdict::unsigned_accepted;
}

struct AuthCounters {
  std::array<uint64_t, kAuthVerdictCount> by_verdict{};
  uint64_t operator[](AuthVerdict v) const { return by_verdict[static_cast<size_t>(v)]; }
  uint64_t rejected() const;
};

// The trailer as carried (the parser the fuzzer drives): nullopt unless `trailer` is exactly
// kAuthTrailerSize bytes with type 1 and length 44.
struct Trailer {
  uint8_t key_id = 0;
  uint64_t sequence = 0;
  std::array<uint8_t, kAuthMacSize> mac{};
};
std::optional<Trailer> parse_trailer(std::span<const uint8_t> trailer);

// The MAC over `message` (the VRRP message as encoded; its checksum field is read as zero)
// and the trailer's header for `key_id` and `sequence`, between `src` and `dst`. Empty when
// OpenSSL fails (it does not, short of memory).
std::optional<std::array<uint8_t, kAuthMacSize>> compute_mac(
    const Secret& key, uint8_t key_id, uint64_t sequence, std::span<const uint8_t> message,
    const IpAddress& src, const IpAddress& dst);

// `payload` (encode()'s output for src -> dst) with a trailer signed by `key`, and its
// checksum recomputed over the whole. Empty when the MAC cannot be computed.
std::vector<uint8_t> sign(std::span<const uint8_t> payload, Version version, const AuthKey& key,
                          uint64_t sequence, const IpAddress& src, const IpAddress& dst);

// One instance's authentication: its config, the sender's last sequence, the last sequence
// accepted from each sender, and the counters. A new config (a reload: keys rotated, the
// mode changed) keeps the sequences, so a reload opens no replay window.
class Authenticator {
 public:
  explicit Authenticator(AuthConfig cfg) : cfg_(std::move(cfg)) {}
  const AuthConfig& config() const { return cfg_; }
  void set_config(AuthConfig cfg) { cfg_ = std::move(cfg); }

  // The next sequence to send: `now_us` (the wall clock, microseconds since the epoch), or
  // one above the last when the clock has not moved on (or went back).
  uint64_t next_sequence(uint64_t now_us);
  // `payload` signed with the active key, or as it is when the mode sends unsigned.
  // Empty on failure (no active key: the loader refuses that; OpenSSL failing).
  std::vector<uint8_t> outgoing(std::vector<uint8_t> payload, Version version,
                                const IpAddress& src, const IpAddress& dst, uint64_t now_us);
  // The verdict on a received advert that decode() accepted (so its size is the message's,
  // or the message's plus kAuthTrailerSize); counts it. `message_size` is the VRRP message's.
  AuthVerdict check(std::span<const uint8_t> payload, size_t message_size, const RxMeta& meta,
                    uint64_t now_us);
  const AuthCounters& counters() const { return counters_; }

 private:
  AuthVerdict verdict(std::span<const uint8_t> payload, size_t message_size, const RxMeta& meta,
                      uint64_t now_us);
  AuthConfig cfg_;
  uint64_t last_sent_ = 0;
  std::map<IpAddress, uint64_t> last_seen_;  // per sender: only senders holding a key get in
  AuthCounters counters_;
};

// Microseconds since the epoch (CLOCK_REALTIME): what the engine passes as now_us.
uint64_t wall_micros();

}  // namespace hd::vrrp
