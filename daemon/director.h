// Wires the subsystems to the config, the control socket and the process:
// start, reload (validated whole, then applied as a difference), stop.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/loop.h"
#include "daemon/config/loader.h"
#include "daemon/control/server.h"
#include "daemon/subsystem.h"

namespace hd {

class Director {
 public:
  Director(Loop& loop, std::string config_path, config::Config cfg);
  ~Director();

  // Returns "" on success, else a one-line reason (the daemon then exits 1).
  std::string start();
  // SIGHUP: re-read the file; invalid -> log every error, keep the old config.
  void reload();
  // SIGTERM/SIGINT: orderly stop of every subsystem, then the loop ends.
  void stop();

  std::string handle_request(const std::string& line);
  std::string status_json(bool pretty) const;
  std::string status_text() const;
  const config::Config& config() const { return cfg_; }

 private:
  Loop& loop_;
  std::string config_path_;
  config::Config cfg_;
  std::vector<std::unique_ptr<Subsystem>> subsystems_;
  control::Server control_;
  int generation_ = 1;
  double loaded_at_ = 0;
  double started_at_ = 0;
  int reloads_ok_ = 0;
  int reloads_failed_ = 0;
  std::vector<std::string> last_reload_errors_;
  bool stopping_ = false;
  std::unique_ptr<Timer> drain_timer_;
  TimePoint drain_deadline_{};
};

}  // namespace hd
