// SPDX-License-Identifier: GPL-2.0-or-later
#include "rtnl/tun_device.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hd::rtnl {

std::unique_ptr<TunDevice> TunDevice::open(const std::string& name, std::string& error) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    error = "interface name '" + name + "' is not 1-15 characters";
    return nullptr;
  }
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    error = std::string("cannot open /dev/net/tun: ") + std::strerror(errno);
    return nullptr;
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());  // < IFNAMSIZ: ends in a zero
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    ::close(fd);
    error = "cannot create TUN interface " + name + ": " + std::strerror(e) +
            (e == EINVAL || e == EBUSY ? " (the name is taken by another interface)" : "");
    return nullptr;
  }
  // TUNSETIFF attaches to a persistent device of that name without a word; one would
  // outlive this process with its routes (a dead daemon still announcing): refused.
  ifreq got{};
  if (ioctl(fd, TUNGETIFF, &got) == 0 && (got.ifr_flags & IFF_PERSIST)) {
    ::close(fd);
    error = "TUN interface " + name + " exists and is persistent (it would outlive hadirector "
            "with its routes): remove it (ip tuntap del dev " + name + " mode tun) or name another";
    return nullptr;
  }
  // Up, through a plain socket's ioctl: once, at start.
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  bool up = false;
  int index = 0;
  if (s >= 0) {
    ifreq f{};
    std::memcpy(f.ifr_name, ifr.ifr_name, IFNAMSIZ);
    if (ioctl(s, SIOCGIFFLAGS, &f) == 0) {
      f.ifr_flags |= IFF_UP;
      up = ioctl(s, SIOCSIFFLAGS, &f) == 0;
    }
    index = static_cast<int>(if_nametoindex(ifr.ifr_name));
    ::close(s);
  }
  if (!up || index == 0) {
    int e = errno;
    ::close(fd);
    error = "cannot bring TUN interface " + name + " up: " + std::strerror(e);
    return nullptr;
  }
  return std::unique_ptr<TunDevice>(new TunDevice(fd, ifr.ifr_name, index));
}

TunDevice::~TunDevice() { ::close(fd_); }

}  // namespace hd::rtnl
