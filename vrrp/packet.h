// SPDX-License-Identifier: GPL-2.0-or-later
// VRRP advertisement wire format: RFC 3768 (version 2, IPv4 only) and RFC 5798 (version 3, IPv4
// and IPv6). encode() and decode() handle the VRRP message only (the IP payload, protocol 112);
// the IP header belongs to the socket layer, which reports what decode() needs in RxMeta.
// Nothing here allocates a socket, reads a clock or throws on bad input.
#pragma once
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/address.h"
#include "core/clock.h"

namespace hd::vrrp {

inline constexpr uint8_t kIpProtocol = 112;            // IANA protocol number for VRRP
inline constexpr uint8_t kRequiredTtl = 255;           // RFC 3768 5.2.3, RFC 5798 5.1.1.3 / 5.1.2.3
inline constexpr uint8_t kTypeAdvertisement = 1;       // the only VRRP packet type
inline constexpr size_t kHeaderSize = 8;               // fixed fields before the addresses
inline constexpr size_t kV2AuthDataSize = 8;           // RFC 3768 5.3.10
inline constexpr uint16_t kV3MaxAdvertIntCs = 0x0fff;  // 12-bit field, centiseconds

// Addresses are core's values; the ordering (family, then numeric) is RFC 5798 6.4.3's
// "primary IP address is greater" comparison.
using hd::Family;
using hd::IpAddress;

// Bytes of one address of the family: 4 or 16.
constexpr size_t address_size(Family f) {
  return f == Family::v4 ? 4 : 16;
}

enum class Version : uint8_t { v2 = 2, v3 = 3 };

// One VRRP ADVERTISEMENT (type 1), as carried on the wire. Fields marked v2/v3 are only
// encoded for, and only filled in by decode() for, that version; the others keep their defaults.
struct Advert {
  Version version = Version::v3;
  uint8_t vrid = 1;        // 1..255
  uint8_t priority = 100;  // 0 = master is leaving, 255 = address owner
  // v3: Max Adver Int, centiseconds, 12 bits (RFC 5798 5.2.7).
  uint16_t max_advert_int_cs = 100;
  // v2: Adver Int, whole seconds (RFC 3768 5.3.7).
  uint8_t advert_int_s = 1;
  // v2: Auth Type (RFC 3768 5.3.6; 0 none, 1 simple text password as in RFC 2338).
  uint8_t auth_type = 0;
  // v2: Authentication Data; for auth type 1 the password, zero padded. Always zero with auth
  // type 0 (decode does not carry it, encode sends zeros).
  std::array<char, kV2AuthDataSize> auth_data{};
  // Virtual addresses, all of the family the advert travels in (v2: IPv4 only).
  std::vector<IpAddress> addresses;

  // The advertised interval as a duration (v2 seconds or v3 centiseconds).
  Duration interval() const;

  friend bool operator==(const Advert&, const Advert&) = default;
};

// A v2 simple-text password as it goes in Authentication Data: at most 8 bytes, zero padded.
std::array<char, kV2AuthDataSize> make_password(std::string_view password);

// The VRRP message (the IP payload) for `advert`, with its checksum: v2 over the message alone
// (RFC 3768 5.3.8), v3 over an IPv4 or IPv6 pseudo-header plus the message (RFC 5798 5.2.8), which
// is why `src` and `dst` (the IP header's addresses) are needed. Returns an empty vector when the
// advert cannot be encoded: addresses or src/dst of mixed families, v2 with IPv6, more than 255
// addresses, or a v3 interval above 4095 cs.
std::vector<uint8_t> encode(const Advert& advert, const IpAddress& src, const IpAddress& dst);

// The checksum of `payload` as it goes from `src` to `dst` (v2: the payload alone; v3: with the
// pseudo-header), its own checksum field included: 0 when the stored one is right.
uint16_t payload_checksum(Version v, std::span<const uint8_t> payload, const IpAddress& src,
                          const IpAddress& dst);

// Bytes of the VRRP message in `payload` by its Count IP Addrs (and v2's auth data): what
// comes after it is an authentication trailer (vrrp/auth.h). 0 when shorter than the header.
size_t message_size(std::span<const uint8_t> payload, Version v, Family f);


// Why a received packet was dropped (RFC 3768 7.1, RFC 5798 7.1, in the order checked).
enum class DropReason : uint8_t {
  ttl,              // IPv4 TTL / IPv6 hop limit is not 255
  address_family,   // IP family differs from the instance's, src/dst differ, or v2 over IPv6
  version,          // version nibble is not the configured one
  type,             // type nibble is not 1 (ADVERTISEMENT)
  length,           // truncated, or size does not match Count IP Addrs (+ v2 auth data)
  checksum,         // checksum does not verify
  vrid,             // VRID is not the instance's (or no instance has it: counted by the caller)
  auth_type,        // v2: Auth Type differs from the configured one
  auth_password,    // v2: simple-text password differs
  advert_interval,  // v2: Adver Int differs from configured; v3: Max Adver Int is 0
};
inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::advert_interval) + 1;

std::string_view to_string(DropReason r);
std::ostream& operator<<(std::ostream& os, DropReason r);

// Per-reason drop counters, for status output and metrics.
struct DropCounters {
  std::array<uint64_t, kDropReasonCount> by_reason{};
  uint64_t total = 0;

  void add(DropReason r) {
    ++by_reason[static_cast<size_t>(r)];
    ++total;
  }
  uint64_t operator[](DropReason r) const { return by_reason[static_cast<size_t>(r)]; }
};

// What the socket layer knows about a received packet, from the IP header.
struct RxMeta {
  IpAddress source;
  IpAddress destination;
  uint8_t ttl = 0;  // IPv4 TTL or IPv6 hop limit
};

// What the receiving instance is configured with.
struct ExpectedParams {
  Version version = Version::v3;
  Family family = Family::v4;
  uint8_t vrid = 1;
  uint8_t auth_type = 0;                              // v2 only
  std::array<char, kV2AuthDataSize> auth_password{};  // v2 only, compared when auth_type == 1
  uint8_t advert_int_s = 1;                           // v2 only
  // Bytes an authentication trailer adds (vrrp/auth.h), 0 when none is expected: the length
  // check then accepts the message alone or the message and the trailer, and the checksum
  // covers both. Whether the trailer verifies is the Authenticator's question, not decode's.
  size_t trailer_size = 0;
};

// Either a valid Advert or the reason it was dropped.
class DecodeResult {
 public:
  DecodeResult(Advert a) : value_(std::move(a)) {}  // NOLINT: implicit by design
  DecodeResult(DropReason r) : value_(r) {}         // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<Advert>(value_); }
  explicit operator bool() const { return ok(); }
  // Preconditions: ok() for advert(), !ok() for reason().
  const Advert& advert() const { return std::get<Advert>(value_); }
  Advert& advert() { return std::get<Advert>(value_); }
  DropReason reason() const { return std::get<DropReason>(value_); }

 private:
  std::variant<Advert, DropReason> value_;
};

// Validates `payload` as received (RFC 3768 7.1 / RFC 5798 7.1) and parses it. Checks, in this
// order: TTL, address family, version, type, length, checksum, VRID, and for v2 auth type,
// password and Adver Int. A Count IP Addrs of 0 is accepted. Does not check the addresses against
// the configuration (see addresses_match) nor the local address-owner rule (the Fsm decides).
DecodeResult decode(std::span<const uint8_t> payload, const RxMeta& meta,
                    const ExpectedParams& expect);

// The VRID of a received message, without validating anything else, so the socket layer can pick
// the instance (and its ExpectedParams) before decode(). nullopt when shorter than 2 bytes.
std::optional<uint8_t> peek_vrid(std::span<const uint8_t> payload);

// Whether the advert's addresses are the configured ones, in any order (the "MAY verify" check
// of RFC 3768 7.1 / RFC 5798 7.1): a mismatch is a misconfiguration to log, not a drop.
bool addresses_match(const Advert& advert, std::span<const IpAddress> configured);

}  // namespace hd::vrrp
