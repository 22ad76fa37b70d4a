// SPDX-License-Identifier: GPL-2.0-or-later
#include "checkers/http_check.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace hd::checkers {
namespace {

std::string ip_literal(const IpAddress& a) {
  return a.is_v4() ? a.str() : "[" + a.str() + "]";
}

long ms(Duration d) {
  auto v = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return v < 1 ? 1 : static_cast<long>(v);
}

bool is_tls_error(CURLcode c) {
  switch (c) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

// The name in a Host header, for TLS (SNI and verification): "www.example.com:8443" ->
// "www.example.com"; an IP literal ("[2001:db8::1]:443", "192.0.2.1") names nothing.
std::string tls_name_of_host(const std::string& host) {
  if (host.empty() || host[0] == '[') return {};
  auto colon = host.find(':');
  if (colon != std::string::npos && host.find(':', colon + 1) != std::string::npos)
    return {};  // an unbracketed IPv6 address
  std::string name = host.substr(0, colon);
  // Only a DNS name can go into the URL (and SNI): anything else ('#', '?', '@', '%'...)
  // would change what the URL means.
  if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789._-") != std::string::npos)
    return {};
  if (name.find_first_not_of("0123456789.") == std::string::npos) return {};  // IPv4
  return name;
}

}  // namespace

HttpProbe::HttpProbe(CurlMulti& multi, SpecPtr spec, Endpoint target)
    : multi_(multi), spec_(std::move(spec)), target_(target), matcher_(*spec_), defer_(multi.loop(), [this] {
        if (deferred_) {
          Result r = std::move(*deferred_);
          deferred_.reset();
          finish(std::move(r));
        }
      }) {
  easy_ = curl_easy_init();
  if (!easy_) throw std::runtime_error("curl_easy_init failed");

  const bool smtp = spec_->type == CheckType::smtp;
  bool tls = spec_->type == CheckType::https;
  std::string ip = ip_literal(target_.address);
  std::string port = std::to_string(target_.port);
  if (smtp) {
    std::string helo = spec_->helo_name;
    if (helo.empty()) {
      char host[256] = {};
      if (gethostname(host, sizeof host - 1) == 0) helo = host;
    }
    // With STARTTLS and an sni, the URL names the server (SNI, certificate check) and
    // CONNECT_TO pins the connection to the address, as for https.
    const std::string host = spec_->starttls && !spec_->sni.empty() ? spec_->sni : ip;
    url_ = "smtp://" + host + ":" + port + "/" + helo;
    if (host != ip) {
      connect_to_ = curl_slist_append(nullptr, ("::" + ip + ":" + port).c_str());
      curl_easy_setopt(easy_, CURLOPT_CONNECT_TO, connect_to_);
    }
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "smtp");
    curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, "NOOP");
    if (spec_->starttls) {
      curl_easy_setopt(easy_, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
      curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, spec_->tls_verify ? 1L : 0L);
      curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, spec_->tls_verify ? 2L : 0L);
      if (!spec_->ca_file.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, spec_->ca_file.c_str());
      curl_easy_setopt(easy_, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    }
  }
  std::string name = tls ? (!spec_->sni.empty() ? spec_->sni : tls_name_of_host(spec_->host))
                         : std::string();
  if (name.empty()) name = ip;
  if (!smtp) url_ = std::string(tls ? "https" : "http") + "://" + name + ":" + port + spec_->path;
  if (!smtp && name != ip) {
    connect_to_ = curl_slist_append(nullptr, ("::" + ip + ":" + port).c_str());
    curl_easy_setopt(easy_, CURLOPT_CONNECT_TO, connect_to_);
  }
  if (!smtp) {
    if (!spec_->host.empty())
      headers_ = curl_slist_append(headers_, ("Host: " + spec_->host).c_str());
    headers_ = curl_slist_append(headers_, "User-Agent: hadirector-checker");
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  }
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  if (spec_->keepalive && !smtp) {
    // The kept connection lives in a connection cache of this probe's own. In the multi's
    // shared one, libcurl 7.88 walks every cached connection each time a transfer that left
    // one behind is removed (close_connect_only): O(checks) per check, 100 % of a core at
    // 5,000 keepalive checks a second. Alone, the walk is one connection long. Without one
    // (out of memory): a new connection every run, as without keepalive.
    share_ = curl_share_init();
    if (share_) {
      curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
      curl_easy_setopt(easy_, CURLOPT_SHARE, share_);
    }
  }
  const long fresh = share_ ? 0L : 1L;
  curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, fresh);
  curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, fresh);
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
  // No DNS cache: only IP literals are ever "resolved" (the URL's, or
  // CONNECT_TO's). With the default 60 s cache, the multi's cache holds one
  // entry per address:port (thousands), and every transfer walks it (curl's
  // prune pass, and a 7-bucket hash): O(n) per check, O(n^2) per interval.
  // At 0 it holds only the transfers in flight.
  curl_easy_setopt(easy_, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
  if (spec_->method == HttpMethod::head && !smtp) curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, ms(spec_->effective_connect_timeout()));
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, ms(spec_->timeout));
  if (spec_->source_address) {
    interface_ = "host!" + spec_->source_address->str();
    curl_easy_setopt(easy_, CURLOPT_INTERFACE, interface_.c_str());
  }
  if (tls) {
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, spec_->tls_verify ? 1L : 0L);
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, spec_->tls_verify ? 2L : 0L);
    if (!spec_->ca_file.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, spec_->ca_file.c_str());
    // Every probe does a full handshake, so certificate problems show at once.
    curl_easy_setopt(easy_, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  }
  curl_easy_setopt(easy_, CURLOPT_OPENSOCKETFUNCTION, &HttpProbe::open_socket);
  curl_easy_setopt(easy_, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &HttpProbe::on_write);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_);
}

HttpProbe::~HttpProbe() {
  cancel();
  curl_easy_cleanup(easy_);
  if (share_) curl_share_cleanup(share_);  // closes the kept connection
  curl_slist_free_all(headers_);
  curl_slist_free_all(connect_to_);
}

void HttpProbe::start(ProbeDone done) {
  done_ = std::move(done);
  body_.clear();
  discarded_ = 0;
  truncated_ = aborted_ = false;
  socket_errno_ = 0;
  errbuf_[0] = '\0';
  if (matcher_.error())
    return finish_later(Result::failure(Reason::invalid_check, 0, *matcher_.error()));
  if (!multi_.add(easy_, this))
    return finish_later(Result::failure(Reason::local_error, 0, "curl_multi_add_handle failed"));
  in_multi_ = true;
}

void HttpProbe::cancel() {
  if (in_multi_) multi_.remove(easy_);
  in_multi_ = false;
  defer_.stop();
  deferred_.reset();
  done_ = nullptr;
}

void HttpProbe::finish(Result r) {
  ProbeDone done = std::move(done_);
  cancel();
  if (done) done(std::move(r));
}

void HttpProbe::finish_later(Result r) {
  deferred_ = std::move(r);
  defer_.start(Duration::zero());
}

void HttpProbe::on_curl_done(CURLcode code) {
  in_multi_ = false;
  finish(classify(code));
}

size_t HttpProbe::on_write(char* data, size_t size, size_t n, void* selfp) {
  auto* self = static_cast<HttpProbe*>(selfp);
  size_t len = size * n;
  if (self->spec_->type == CheckType::smtp) return len;  // NOOP's answer text: not needed
  // Nothing to match the body against: the status is all we need, stop here. With
  // keepalive, a body up to kMaxBody is read to its end and dropped, so the connection can
  // carry the next run (a longer one is cut, and the next run connects anew).
  if (!self->matcher_.needs_body()) {
    if (self->share_ && self->discarded_ + len <= kMaxBody) {
      self->discarded_ += len;
      return len;
    }
    self->aborted_ = true;
    return 0;
  }
  size_t room = kMaxBody - self->body_.size();
  if (len > room) {
    self->body_.append(data, room);
    self->truncated_ = self->aborted_ = true;
    return 0;
  }
  self->body_.append(data, len);
  return len;
}

curl_socket_t HttpProbe::open_socket(void* self, curlsocktype, curl_sockaddr* addr) {
  int fd = ::socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  if (fd < 0) static_cast<HttpProbe*>(self)->socket_errno_ = errno;
  return fd < 0 ? CURL_SOCKET_BAD : fd;
}

Result HttpProbe::classify(CURLcode code) {
  std::string err = errbuf_[0] ? std::string(errbuf_) : std::string(curl_easy_strerror(code));
  if (code != CURLE_OK && is_local_resource_error(socket_errno_))
    return Result::syscall_failure(Reason::local_error, "socket", socket_errno_);
  if (spec_->type == CheckType::smtp) {
    if (code == CURLE_OK) return Result::success();
    // A banner other than 220 or a refused NOOP (WEIRD_SERVER_REPLY), a refused EHLO and
    // HELO (REMOTE_ACCESS_DENIED): the code the MTA gave.
    if (code == CURLE_WEIRD_SERVER_REPLY || code == CURLE_REMOTE_ACCESS_DENIED) {
      long status = 0;
      curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
      return Result::failure(Reason::bad_status, static_cast<int>(status), err);
    }
  }
  if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && aborted_)) {
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    return matcher_.match(static_cast<int>(status), body_, truncated_);
  }
  if (code == CURLE_COULDNT_CONNECT) {
    long os_errno = 0;
    curl_easy_getinfo(easy_, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno == ECONNREFUSED) return Result::failure(Reason::connect_refused);
    if (os_errno == ETIMEDOUT) return Result::failure(Reason::connect_timeout);
    // curl could not open its socket here (out of descriptors, say): not the server's fault.
    return Result::failure_or_local(Reason::connect_failed, static_cast<int>(os_errno), err);
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    curl_off_t connected = 0;
    curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connected);
    if (connected == 0) return Result::failure(Reason::connect_timeout);
    return Result::failure(Reason::timeout);
  }
  if (code == CURLE_OUT_OF_MEMORY) return Result::failure(Reason::local_error, ENOMEM, err);
  if (is_tls_error(code)) return Result::failure(Reason::tls_error, 0, err);
  if (code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING)
    return Result::failure(Reason::reset, 0, err);
  return Result::failure(Reason::other, static_cast<int>(code), err);
}

}  // namespace hd::checkers
