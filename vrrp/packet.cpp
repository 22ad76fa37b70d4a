// SPDX-License-Identifier: GPL-2.0-or-later
#include "vrrp/packet.h"

#include "core/checksum.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>

namespace hd::vrrp {


Duration Advert::interval() const {
  using std::chrono::seconds;
  if (version == Version::v2) return seconds(advert_int_s);
  return std::chrono::milliseconds(10) * max_advert_int_cs;
}

std::array<char, kV2AuthDataSize> make_password(std::string_view password) {
  std::array<char, kV2AuthDataSize> out{};
  std::copy_n(password.begin(), std::min(password.size(), out.size()), out.begin());
  return out;
}


namespace {

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put_bytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

}  // namespace

uint16_t payload_checksum(Version v, std::span<const uint8_t> payload, const IpAddress& src,
                          const IpAddress& dst) {
  // v3 covers "the pseudo-header ... and the VRRP message" (RFC 5798 5.2.8).
  return v == Version::v2 ? internet_checksum(payload)
                         : pseudo_header_checksum(src, dst, kIpProtocol, payload);
}

size_t message_size(std::span<const uint8_t> payload, Version v, Family f) {
  if (payload.size() < kHeaderSize) return 0;
  return kHeaderSize + payload[3] * address_size(f) + (v == Version::v2 ? kV2AuthDataSize : 0);
}

std::vector<uint8_t> encode(const Advert& advert, const IpAddress& src, const IpAddress& dst) {
  const Family family = src.family();
  if (dst.family() != family) return {};
  if (advert.version == Version::v2 && family != Family::v4) return {};
  if (advert.version != Version::v2 && advert.version != Version::v3) return {};
  if (advert.addresses.size() > 255) return {};
  if (advert.version == Version::v3 && advert.max_advert_int_cs > kV3MaxAdvertIntCs) return {};
  for (const IpAddress& a : advert.addresses) {
    if (a.family() != family) return {};
  }

  std::vector<uint8_t> out;
  out.reserve(kHeaderSize + advert.addresses.size() * address_size(family) + kV2AuthDataSize);
  out.push_back(
      static_cast<uint8_t>(static_cast<uint8_t>(advert.version) << 4 | kTypeAdvertisement));
  out.push_back(advert.vrid);
  out.push_back(advert.priority);
  out.push_back(static_cast<uint8_t>(advert.addresses.size()));
  if (advert.version == Version::v2) {
    out.push_back(advert.auth_type);
    out.push_back(advert.advert_int_s);
  } else {
    put16(out, advert.max_advert_int_cs);  // the 4 reserved bits stay zero
  }
  put16(out, 0);  // checksum, filled in below
  for (const IpAddress& a : advert.addresses) put_bytes(out, a.bytes());
  if (advert.version == Version::v2) {
    // RFC 3768 5.3.10: with Auth Type 0 the field "MUST be set to zero on transmission".
    for (char c : advert.auth_data)
      out.push_back(advert.auth_type == 0 ? 0 : static_cast<uint8_t>(c));
  }
  const uint16_t sum = payload_checksum(advert.version, out, src, dst);
  out[6] = static_cast<uint8_t>(sum >> 8);
  out[7] = static_cast<uint8_t>(sum);
  return out;
}

DecodeResult decode(std::span<const uint8_t> payload, const RxMeta& meta,
                    const ExpectedParams& expect) {
  if (meta.ttl != kRequiredTtl) return DropReason::ttl;

  const Family family = meta.source.family();
  if (meta.destination.family() != family || family != expect.family) {
    return DropReason::address_family;
  }
  if (expect.version == Version::v2 && family != Family::v4) return DropReason::address_family;

  if (payload.empty()) return DropReason::length;
  if ((payload[0] >> 4) != static_cast<uint8_t>(expect.version)) return DropReason::version;
  if ((payload[0] & 0x0f) != kTypeAdvertisement) return DropReason::type;

  if (payload.size() < kHeaderSize) return DropReason::length;
  const size_t count = payload[3];
  const size_t addr_size = address_size(family);
  const bool v2 = expect.version == Version::v2;
  const size_t expected_size = kHeaderSize + count * addr_size + (v2 ? kV2AuthDataSize : 0);
  if (payload.size() != expected_size &&
      (expect.trailer_size == 0 || payload.size() != expected_size + expect.trailer_size))
    return DropReason::length;

  // The stored checksum is part of the summed data, so a correct message sums to zero.
  if (payload_checksum(expect.version, payload, meta.source, meta.destination) != 0) {
    return DropReason::checksum;
  }

  if (payload[1] != expect.vrid) return DropReason::vrid;

  Advert advert;
  advert.version = expect.version;
  advert.vrid = payload[1];
  advert.priority = payload[2];
  if (v2) {
    advert.auth_type = payload[4];
    advert.advert_int_s = payload[5];
    if (advert.auth_type != expect.auth_type) return DropReason::auth_type;
    // RFC 3768 5.3.10: with Auth Type 0 the data is "ignored on reception"; it is left zero so
    // that a decoded Advert re-encodes to the same thing.
    if (advert.auth_type != 0) {
      const size_t auth_at = kHeaderSize + count * addr_size;
      std::copy_n(payload.begin() + static_cast<std::ptrdiff_t>(auth_at), kV2AuthDataSize,
                  advert.auth_data.begin());
    }
    if (advert.auth_type == 1 && advert.auth_data != expect.auth_password) {
      return DropReason::auth_password;
    }
    // RFC 3768 7.1: "MUST verify that the Adver Interval in the packet is the same as the
    // locally configured for this virtual router".
    if (advert.advert_int_s != expect.advert_int_s) return DropReason::advert_interval;
  } else {
    advert.max_advert_int_cs = static_cast<uint16_t>((payload[4] << 8 | payload[5]) & 0x0fff);
    // Not an RFC 5798 check: an interval of 0 would make every backup's Master_Down_Interval 0,
    // so such a packet is refused rather than adopted.
    if (advert.max_advert_int_cs == 0) return DropReason::advert_interval;
  }

  advert.addresses.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const auto bytes = payload.subspan(kHeaderSize + i * addr_size, addr_size);
    advert.addresses.push_back(*IpAddress::from_bytes(family, bytes));
  }
  return advert;
}

std::optional<uint8_t> peek_vrid(std::span<const uint8_t> payload) {
  if (payload.size() < 2) return std::nullopt;
  return payload[1];
}

bool addresses_match(const Advert& advert, std::span<const IpAddress> configured) {
  std::vector<IpAddress> a(advert.addresses.begin(), advert.addresses.end());
  std::vector<IpAddress> b(configured.begin(), configured.end());
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

std::string_view to_string(DropReason r) {
  switch (r) {
    case DropReason::ttl:
      return "ttl";
    case DropReason::address_family:
      return "address_family";
    case DropReason::version:
      return "version";
    case DropReason::type:
      return "type";
    case DropReason::length:
      return "length";
    case DropReason::checksum:
      return "checksum";
    case DropReason::vrid:
      return "vrid";
    case DropReason::auth_type:
      return "auth_type";
    case DropReason::auth_password:
      return "auth_password";
    case DropReason::advert_interval:
      return "advert_interval";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, DropReason r) {
  return os << to_string(r);
}

}  // namespace hd::vrrp
