// SPDX-License-Identifier: GPL-2.0-or-later
#include "drill/vm.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "drill/proc.h"
#include "drill/report.h"

namespace hd::drill {
namespace {

std::string which(const std::string& prog) {
  auto r = drill::run({"sh", "-c", "command -v " + prog});
  std::string p = r.out;
  while (!p.empty() && p.back() == '\n') p.pop_back();
  return r.status == 0 ? p : "";
}

}  // namespace

std::string find_vm_runner(const Options& o) {
  if (!o.vm_runner.empty()) return exists(o.vm_runner) ? o.vm_runner : "";
  if (const char* e = std::getenv("HD_VM_RUNNER"); e && *e) return exists(e) ? e : "";
  std::string installed = dir_of(o.self) + "/../lib/hadirector/run-in-vm.sh";
  return exists(installed) ? installed : "";
}

void ReportSplitter::line(const std::string& l, std::string& report, std::string& other) {
  std::string s = l;
  if (!s.empty() && s.back() == '\r') s.pop_back();
  if (s == kReportBegin) {
    in_ = seen_ = true;
  } else if (s == kReportEnd) {
    in_ = false;
  } else if (in_) {
    report += s + "\n";
  } else {
    other += s + "\n";
  }
}

int run_in_vm(const Options& o, const std::vector<std::string>& args) {
  std::string runner = find_vm_runner(o);
  if (runner.empty()) {
    std::fprintf(stderr,
                 "drill: this kernel has no IPVS and no VM runner was found (--vm-runner, "
                 "$HD_VM_RUNNER, or %s/../lib/hadirector/run-in-vm.sh); run on a kernel with ip_vs\n",
                 dir_of(o.self).c_str());
    return 2;
  }
  std::fprintf(stderr, "drill: this kernel has no IPVS: running the lab inside a VM (Debian's kernel "
                       "under qemu, %s)\n", runner.c_str());
  // The VM lives as long as the drill needs: about 9 minutes, plus the soak's duration.
  std::string timeout = std::to_string(580 + static_cast<long>(o.soak_s));
  std::vector<std::string> argv = {runner, "--timeout", timeout, "--mem", "1024", "--file", o.self,
                                   "--file", o.daemon};
  if (o.keep) argv.push_back("--interactive");
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--config" || args[i] == "--drill-config") {
      char* abs = realpath(args[i + 1].c_str(), nullptr);
      if (abs) {
        argv.insert(argv.end(), {"--file", abs});
        free(abs);
      }
    }
  for (auto prog : {"ipvsadm", "nft", "ip", "sysctl", "tc"}) {
    auto p = which(prog);
    if (!p.empty()) argv.insert(argv.end(), {"--file", p});
  }
  // Partitions are made with nftables on the lab's bridge; vrrp-netem with tc; the
  // directors' handover forwarding duplicates packets with nft (nft_dup_*).
  for (auto mod : {"nf_tables", "nft_meta_bridge", "nft_dup_ipv4", "nft_dup_ipv6", "sch_prio",
                   "sch_netem", "cls_u32"})
    argv.insert(argv.end(), {"--module", mod});
  argv.insert(argv.end(), {"--", o.self, "--no-vm", "--daemon", o.daemon});
  if (!o.keep) argv.push_back("--report-markers");
  argv.insert(argv.end(), args.begin(), args.end());
  if (o.keep) {
    // The lab stays up inside the VM: its console becomes this terminal until `exit`.
    std::fprintf(stderr, "drill: --keep: after the drill, a shell in the VM opens here; `exit` "
                         "powers the VM off\n");
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    std::perror("drill: exec VM runner");
    return 2;
  }
  // The runner's stdout is the guest's console (stdout and stderr merged): only the framed
  // report goes to our stdout, line by line as it comes; the rest is progress, for stderr.
  Child c = spawn_piped(argv, /*discard_stderr=*/false);
  if (c.pid < 0) return 2;
  ReportSplitter split;
  std::string buf;
  char tmp[4096];
  ssize_t n;
  auto flush_lines = [&](bool all) {
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos || (all && !buf.empty())) {
      std::string l = nl == std::string::npos ? buf : buf.substr(0, nl);
      buf.erase(0, nl == std::string::npos ? buf.size() : nl + 1);
      std::string report, other;
      split.line(l, report, other);
      std::fputs(report.c_str(), stdout);
      std::fputs(other.c_str(), stderr);
    }
  };
  while ((n = ::read(c.out_fd, tmp, sizeof tmp)) > 0 || (n < 0 && errno == EINTR)) {
    if (n <= 0) continue;
    buf.append(tmp, static_cast<size_t>(n));
    flush_lines(false);
  }
  flush_lines(true);
  ::close(c.out_fd);
  std::fflush(stdout);
  int st = 0;
  while (waitpid(c.pid, &st, 0) < 0 && errno == EINTR) {
  }
  int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
  if (rc <= 1 && !split.seen_report()) {
    std::fprintf(stderr, "drill: the VM run ended without a report\n");
    return 2;
  }
  return rc;
}

}  // namespace hd::drill
