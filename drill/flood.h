// SPDX-License-Identifier: GPL-2.0-or-later
// `hadirector-drill flood`: an on-link host that is not a director sending crafted VRRP
// adverts for the lab's VRID as fast as it is told (the advert-flood scenario runs it in
// the client namespace). The kinds rotate: priority 255 (would take the VIP), priority 0
// (would cut a Backup's timer), priority 1 (would make the Master answer), the longest v3
// interval (would stretch the next failover), a bad checksum, a cut packet, another VRID.
// Each is one a director must drop without acting on it: the first four because the
// source is not in its `peers`, the others as malformed or not ours.
#pragma once
#include <string>
#include <vector>

namespace hd::drill {

// --from ADDR --vrid N --vip ADDR [--version 2|3] [--seconds S] [--rate PPS]
// Prints "sent N" on standard output when done.
int flood_main(const std::vector<std::string>& args);

}  // namespace hd::drill
