// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/commands.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "core/log.h"
#include "core/memory.h"
#include "core/loop.h"
#include "core/version.h"
#include "daemon/config/loader.h"
#include "daemon/control/server.h"
#include "daemon/director.h"

namespace hd::cli {
namespace {

constexpr const char* kUsage =
    "usage: hadirector COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  run     [-c FILE]                     run the daemon in the foreground\n"
    "  check   [-c FILE]                     validate a config; print FILE:LINE:COL errors\n"
    "  status  [--json] [--socket PATH | -c FILE]  show the running daemon's state\n"
    "  reload  [--socket PATH | -c FILE]     reload the running daemon and wait for the result\n"
    "  ctl     [--socket PATH | -c FILE] REQUEST ...\n"
    "                                        runtime control: drain, maint, ready, weight,\n"
    "                                        clear, overrides, status (see ctl --help)\n"
    "  drill   [--mode nat|dr] [--scenario NAME] [--json] [--keep]\n"
    "                                        failover drill on a lab of namespaces\n"
    "                                        (runs hadirector-drill; see its --help)\n"
    "  import-keepalived FILE [-o OUT] [--strict] [--config-id ID] [--lvs-only]\n"
    "                                        keepalived.conf -> hadirector TOML, with a\n"
    "                                        warning for everything not carried over\n"
    "  version                               print the version\n"
    "\n"
    "The default config is /etc/hadirector/hadirector.toml. See hadirector(8) and\n"
    "hadirector.toml(5).\n";

struct Options {
  std::string config = kDefaultConfig;
  bool config_given = false;
  std::string socket;
  bool json = false;
  bool help = false;
  std::string error;
};

Options parse(const std::vector<std::string>& args, bool allow_status_opts) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& dst) {
      if (i + 1 >= args.size()) {
        o.error = "option " + a + " needs a value";
        return;
      }
      dst = args[++i];
    };
    if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "-c" || a == "--config") {
      value(o.config);
      o.config_given = true;
    } else if (a.rfind("--config=", 0) == 0) {
      o.config = a.substr(9);
      o.config_given = true;
    } else if (allow_status_opts && a == "--json") {
      o.json = true;
    } else if (allow_status_opts && a == "--socket") {
      value(o.socket);
    } else if (allow_status_opts && a.rfind("--socket=", 0) == 0) {
      o.socket = a.substr(9);
    } else {
      o.error = "unknown argument '" + a + "'";
    }
    if (!o.error.empty()) break;
  }
  return o;
}

int bad_usage(const std::string& msg) {
  std::cerr << "hadirector: " << msg << "\n" << kUsage;
  return 2;
}

}  // namespace

int usage(int status) {
  (status == 0 ? std::cout : std::cerr) << kUsage;
  return status;
}

int version(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
    std::cout << "usage: hadirector version\n";
    return 0;
  }
  if (!args.empty()) return bad_usage("version takes no arguments");
  std::cout << "hadirector " << kVersion << "\n";
  return 0;
}

int drill(const std::vector<std::string>& args) {
  // The drill is its own program; this alias keeps `hadirector drill` working.
  std::string self;
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) self.assign(buf, static_cast<size_t>(n));
  std::string prog = self.substr(0, self.rfind('/') + 1) + "hadirector-drill";
  std::vector<std::string> argv = {prog, "--daemon", self};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> a;
  for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  execv(a[0], a.data());
  std::cerr << "hadirector: cannot run " << prog << ": " << std::strerror(errno)
            << " (the drill is packaged as hadirector-drill beside hadirector)\n";
  return 2;
}

int check(const std::vector<std::string>& args) {
  auto o = parse(args, false);
  if (o.help) {
    std::cout << "usage: hadirector check [-c FILE]\n"
                 "Validates FILE (default /etc/hadirector/hadirector.toml). Exit 0 when valid;\n"
                 "else 1, with one line per error: FILE:LINE:COL: error: MESSAGE\n";
    return 0;
  }
  if (!o.error.empty()) return bad_usage(o.error);
  auto r = config::load_file(o.config);
  for (auto& e : r.errors) std::cerr << e.str() << "\n";
  for (auto& w : r.warnings) std::cerr << w.str() << "\n";
  if (!r.ok()) return 1;
  const auto& c = *r.config;
  std::cout << o.config << ": ok (" << c.vrrp_instances.size() << " vrrp instance(s), "
            << c.virtual_servers.size() << " virtual server(s)"
            << (c.realserver ? ", real-server role" : "") << ")\n";
  return 0;
}

namespace {
// The control socket: --socket PATH, else the control_socket of -c FILE, else the default.
// Returns "" when -c FILE is invalid (its errors printed).
std::string socket_path(const Options& o) {
  if (!o.socket.empty()) return o.socket;
  if (!o.config_given) return config::Global{}.control_socket;
  // Keys are not read: this caller (an admin_group member, ExecReload) needs the socket only.
  auto r = config::load_file(o.config, config::Secrets::skip);
  for (auto& e : r.errors) std::cerr << e.str() << "\n";
  return r.ok() ? r.config->global.control_socket : "";
}
}  // namespace

int reload(const std::vector<std::string>& args) {
  auto o = parse(args, true);
  if (o.help) {
    std::cout << "usage: hadirector reload [--socket PATH | -c FILE]\n"
                 "Asks the running daemon to reload its config file and waits for the result:\n"
                 "exit 0 when the new config runs, 1 when it was rejected or failed (the old one\n"
                 "keeps running; every error is printed). With -c FILE, an invalid FILE is\n"
                 "reported without asking the daemon. systemd's ExecReload runs this.\n";
    return 0;
  }
  if (!o.error.empty() || o.json) return bad_usage(o.error.empty() ? "reload takes no --json" : o.error);
  std::string path = socket_path(o);
  if (path.empty()) {
    std::cerr << "hadirector: " << o.config << " is invalid; the running daemon keeps its config\n";
    return 1;
  }
  std::string reply, error;
  if (!control::request(path, "reload", reply, error)) {
    std::cerr << "hadirector: " << error << "\n";
    return 1;
  }
  bool ok = reply.rfind("ok:", 0) == 0 || reply.find("\nok:") != std::string::npos;
  (ok ? std::cout : std::cerr) << reply;
  return ok ? 0 : 1;
}

int status(const std::vector<std::string>& args) {
  auto o = parse(args, true);
  if (o.help) {
    std::cout << "usage: hadirector status [--json] [--socket PATH | -c FILE]\n"
                 "Asks the running daemon for its state over its control socket. The socket\n"
                 "is --socket PATH, else the control_socket of -c FILE, else\n"
                 "/run/hadirector/control.sock.\n";
    return 0;
  }
  if (!o.error.empty()) return bad_usage(o.error);
  std::string path = socket_path(o);
  if (path.empty()) return 1;
  std::string reply, error;
  if (!control::request(path, o.json ? "status --json" : "status", reply, error)) {
    std::cerr << "hadirector: " << error << "\n";
    return 1;
  }
  std::cout << reply;
  return 0;
}

int ctl(const std::vector<std::string>& args) {
  // Options come before the request; everything from the request on is sent as it is.
  size_t first = 0;
  std::vector<std::string> opts;
  while (first < args.size() && !args[first].empty() && args[first][0] == '-') {
    opts.push_back(args[first]);
    bool takes_value = args[first] == "-c" || args[first] == "--config" || args[first] == "--socket";
    if (takes_value && first + 1 < args.size()) opts.push_back(args[++first]);
    ++first;
  }
  auto o = parse(opts, true);
  if (o.help || first == args.size()) {
    (o.help ? std::cout : std::cerr)
        << "usage: hadirector ctl [--socket PATH | -c FILE] REQUEST [ARGS]\n"
           "Changes or reads the running daemon's state without a reload. Each request\n"
           "answers one line of JSON ({\"ok\":true,...} or {\"ok\":false,\"code\":...,\"error\":...});\n"
           "the exit status is 0 for ok, 1 otherwise. Root or admin_group may change state,\n"
           "read_group may read (status, overrides). Requests:\n"
        << control::kCtlUsage << "See docs/ctl.md.\n";
    return o.help ? 0 : 2;
  }
  if (!o.error.empty() || o.json) return bad_usage(o.error.empty() ? "ctl takes no --json" : o.error);
  std::string path = socket_path(o);
  if (path.empty()) return 1;
  std::string line;
  for (size_t i = first; i < args.size(); ++i) {
    std::string word = (i == first && args[i] == "status") ? "show" : args[i];
    line += (line.empty() ? "" : " ") + control::quote_word(word);
  }
  std::string reply, error;
  if (args[first] == "events") {
    // Follows the stream until the daemon closes it (stop, or this client cut off for not
    // keeping up) or the user interrupts.
    bool first_line = true, ok = false;
    bool done = control::stream(path, line, [&](const std::string& l) {
      if (first_line) {
        first_line = false;
        ok = l.rfind("{\"ok\":true", 0) == 0;
        if (!ok) {
          std::cerr << l << "\n";
          return;
        }
      }
      std::cout << l << "\n" << std::flush;
    }, error);
    if (!done) std::cerr << "hadirector: " << error << "\n";
    return done && ok ? 0 : 1;
  }
  // drain --wait is answered when the drain ends, however long that takes.
  bool wait = args[first] == "drain" && std::find(args.begin() + static_cast<std::ptrdiff_t>(first),
                                                  args.end(), "--wait") != args.end();
  auto timeout = wait ? std::chrono::milliseconds::zero() : std::chrono::milliseconds(60000);
  if (!control::request(path, line, reply, error, timeout)) {
    std::cerr << "hadirector: " << error << "\n";
    return 1;
  }
  bool ok = reply.rfind("{\"ok\":true", 0) == 0;
  (ok ? std::cout : std::cerr) << reply;
  return ok ? 0 : 1;
}

int run(const std::vector<std::string>& args) {
  auto o = parse(args, false);
  if (o.help) {
    std::cout << "usage: hadirector run [-c FILE]\n"
                 "Runs the daemon in the foreground (systemd supervises it).\n"
                 "SIGHUP reloads FILE (an invalid file is rejected and the old config kept);\n"
                 "SIGTERM or SIGINT stops in order.\n";
    return 0;
  }
  if (!o.error.empty()) return bad_usage(o.error);
  configure_heap();
  auto r = config::load_file(o.config);
  for (auto& e : r.errors) HD_LOG(error, "config") << e.str();
  for (auto& w : r.warnings) HD_LOG(warning, "config") << w.str();
  if (!r.ok()) {
    HD_LOG(error, "director") << "not starting: " << o.config << " is invalid";
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);
  Loop& loop = Loop::main();
  // The main loop runs the health checks: thousands of timers, bundled into
  // one wake-up per 5 ms (worth about a third of the checker's CPU on a VM).
  // The VRRP engine has its own loop, with exact timers.
  loop.set_timer_batching(std::chrono::milliseconds(5));
  Director director(loop, o.config, std::move(*r.config));
  SignalWatcher term(loop, SIGTERM, [&] { director.stop(); });
  SignalWatcher intr(loop, SIGINT, [&] { director.stop(); });
  SignalWatcher hup(loop, SIGHUP, [&] { director.request_reload({}); });
  if (auto err = director.start(); !err.empty()) {
    HD_LOG(error, "director") << "cannot start: " << err;
    director.stop();
    return 1;
  }
  loop.run();
  HD_LOG(info, "director") << "stopped";
  return 0;
}

}  // namespace hd::cli
