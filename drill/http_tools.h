// SPDX-License-Identifier: GPL-2.0-or-later
// The drill's two traffic tools, run inside lab namespaces as subcommands of
// hadirector-drill itself:
//   hadirector-drill httpd  --listen IP:PORT --id NAME [--fail-file PATH]
//     a small HTTP/1.1 server answering "<id>\n" (500 while PATH exists)
//   hadirector-drill client --target IP:PORT [--rate N] [--long N] [--timeout-ms N] [--count N]
//                           [--first-port P]
//     steady new-connection requests plus N long-lived keep-alive connections (--count:
//     N requests, then it exits once each has its outcome);
//     one line per outcome on stdout:
//     (times: drill/clock.h)
//       R <t_start> <t_end> ok|fail <status> <server|-> <reason>
//       L <conn> <t> ok|broken <server|-> <reason>
#pragma once
#include <string>
#include <vector>

namespace hd::drill {
int httpd_main(const std::vector<std::string>& args);
int client_main(const std::vector<std::string>& args);
}  // namespace hd::drill
