// SPDX-License-Identifier: GPL-2.0-or-later
// Requests to the "IPVS" generic netlink family, built as values: no socket
// is involved, so tests decode exactly what would be sent. Each message is
// complete (netlink + genl header with NLM_F_REQUEST, and NLM_F_ACK or
// NLM_F_DUMP) except for the sequence number and port, which the sender sets.
// nullptr only if libnl cannot allocate.
#pragma once
#include "core/netlink.h"
#include "ipvs/backend.h"
#include "ipvs/model.h"
#include "ipvs/operation.h"

namespace hd::ipvs {

// IPVS_CMD_NEW_SERVICE / SET_SERVICE / DEL_SERVICE / NEW_DEST / SET_DEST / DEL_DEST.
nl::Msg build_message(const Operation& op, int family_id);
// IPVS_CMD_GET_SERVICE, dump of every service.
nl::Msg build_get_services(int family_id);
// IPVS_CMD_GET_DEST, dump of one service's destinations.
nl::Msg build_get_dests(const ServiceKey& service, int family_id);
// IPVS_CMD_SET_CONFIG with the timeouts that are set.
nl::Msg build_set_timeouts(const Timeouts& t, int family_id);
// IPVS_CMD_NEW_DAEMON / IPVS_CMD_DEL_DAEMON.
nl::Msg build_start_daemon(const SyncDaemon& d, int family_id);
nl::Msg build_stop_daemon(SyncState state, int family_id);

}  // namespace hd::ipvs
