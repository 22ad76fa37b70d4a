// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/flood.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "core/address.h"
#include "drill/clock.h"
#include "vrrp/packet.h"

namespace hd::drill {

int flood_main(const std::vector<std::string>& args) {
  std::string from, vip;
  int vrid = 0, version = 3;
  double seconds = 3, rate = 2000;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    const std::string &k = args[i], &v = args[i + 1];
    if (k == "--from") from = v;
    else if (k == "--vip") vip = v;
    else if (k == "--vrid") vrid = std::stoi(v);
    else if (k == "--version") version = std::stoi(v);
    else if (k == "--seconds") seconds = std::stod(v);
    else if (k == "--rate") rate = std::stod(v);
    else {
      std::cerr << "flood: unknown option " << k << "\n";
      return 2;
    }
  }
  auto src = IpAddress::parse(from), addr = IpAddress::parse(vip);
  if (!src || !addr || vrid < 1 || vrid > 254 || rate <= 0) {
    std::cerr << "usage: hadirector-drill flood --from ADDR --vrid N --vip ADDR [--version 2|3] "
                 "[--seconds S] [--rate PPS]\n";
    return 2;
  }
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, 112);
  if (fd < 0) {
    std::perror("flood: raw socket");
    return 1;
  }
  int ttl = 255;
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  in_addr ifa{};
  inet_pton(AF_INET, from.c_str(), &ifa);
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof ifa);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  inet_pton(AF_INET, "224.0.0.18", &dst.sin_addr);
  const IpAddress group = *IpAddress::parse("224.0.0.18");

  auto advert = [&](uint8_t prio, uint16_t cs, uint8_t id) {
    vrrp::Advert a;
    a.version = version == 2 ? vrrp::Version::v2 : vrrp::Version::v3;
    a.vrid = id;
    a.priority = prio;
    a.max_advert_int_cs = cs;
    a.advert_int_s = 1;
    a.addresses = {*addr};
    return vrrp::encode(a, *src, group);
  };
  std::vector<std::vector<uint8_t>> kinds = {
      advert(255, 10, uint8_t(vrid)),    // would preempt everyone
      advert(0, 10, uint8_t(vrid)),      // would cut a Backup's timer
      advert(1, 10, uint8_t(vrid)),      // would make the Master answer
      advert(200, 4095, uint8_t(vrid)),  // would stretch the interval to 40.95 s
  };
  auto bad_sum = kinds[0];
  bad_sum[6] ^= 0xff;
  kinds.push_back(bad_sum);
  kinds.push_back(std::vector<uint8_t>(kinds[0].begin(), kinds[0].begin() + 6));  // cut short
  kinds.push_back(advert(255, 10, uint8_t(vrid + 1)));                            // not our VRID

  long sent = 0, errors = 0;
  double start = now(), end = start + seconds, gap = 1.0 / rate;
  for (long n = 0; now() < end; ++n) {
    const auto& pkt = kinds[static_cast<size_t>(n) % kinds.size()];
    if (sendto(fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst) < 0)
      ++errors;
    else
      ++sent;
    double next = start + double(n + 1) * gap;
    if (next > now()) sleep_s(next - now());
  }
  ::close(fd);
  std::printf("sent %ld\n", sent);
  if (errors) std::fprintf(stderr, "flood: %ld sends failed\n", errors);
  return sent > 0 ? 0 : 1;
}

}  // namespace hd::drill
