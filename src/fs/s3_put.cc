// S3ConditionalPut: SigV4 signing (docs.aws.amazon.com "Signature Version 4 signing process":
// canonical request, string to sign, derived key) and one HTTP/1.1 request per connection.
#include "s3_put.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>

namespace millpond::fs::internal {
namespace {

constexpr int kTimeoutSeconds = 30;
constexpr size_t kMaxResponse = 1 << 20;

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

std::string Hmac(std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

std::string AmzDate() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// The text between <Code> and </Code> of an S3 error body (empty if none).
std::string XmlField(const std::string& body, const std::string& name) {
  auto b = body.find("<" + name + ">");
  if (b == std::string::npos) return "";
  b += name.size() + 2;
  auto e = body.find("</" + name + ">", b);
  return e == std::string::npos ? "" : body.substr(b, e - b);
}

// SIGPIPE is blocked while a request runs, so a peer that closes early gives EPIPE instead of
// killing the process; a SIGPIPE raised meanwhile is consumed before the mask is restored.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&old_, SIGPIPE)) {
      sigset_t only;
      sigemptyset(&only);
      sigaddset(&only, SIGPIPE);
      timespec zero{0, 0};
      sigtimedwait(&only, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_;
};

std::string SslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return std::strerror(errno);
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// One TCP (optionally TLS) connection; closed on destruction.
class Connection {
 public:
  ~Connection() {
    if (ssl_) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }

  static Result<std::unique_ptr<Connection>> Open(const std::string& host, int port, bool tls,
                                                  const arrow::fs::S3Options& o) {
    std::unique_ptr<Connection> c(new Connection());
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (rc != 0) return Status::IOError("cannot resolve ", host, ": ", gai_strerror(rc));
    std::string last = "no address";
    for (addrinfo* a = res; a; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      timeval tv{kTimeoutSeconds, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        c->fd_ = fd;
        break;
      }
      last = std::strerror(errno);
      ::close(fd);
    }
    ::freeaddrinfo(res);
    if (c->fd_ < 0) {
      return Status::IOError("cannot connect to ", host, ":", port, ": ", last);
    }
    if (!tls) return c;
    c->ctx_ = SSL_CTX_new(TLS_client_method());
    if (!c->ctx_) return Status::IOError("TLS: ", SslError());
    if (o.tls_verify_certificates) {
      SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_PEER, nullptr);
      const char* file = o.tls_ca_file_path.empty() ? nullptr : o.tls_ca_file_path.c_str();
      const char* dir = o.tls_ca_dir_path.empty() ? nullptr : o.tls_ca_dir_path.c_str();
      int ok = file || dir ? SSL_CTX_load_verify_locations(c->ctx_, file, dir)
                           : SSL_CTX_set_default_verify_paths(c->ctx_);
      if (ok != 1) return Status::IOError("TLS: cannot load CA certificates: ", SslError());
    }
    c->ssl_ = SSL_new(c->ctx_);
    if (!c->ssl_) return Status::IOError("TLS: ", SslError());
    SSL_set_fd(c->ssl_, c->fd_);
    unsigned char ip[sizeof(in6_addr)];
    const bool is_ip = ::inet_pton(AF_INET, host.c_str(), ip) == 1 ||
                       ::inet_pton(AF_INET6, host.c_str(), ip) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(c->ssl_, host.c_str());  // SNI takes names only
    if (o.tls_verify_certificates) {
      int set = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl_), host.c_str())
                      : SSL_set1_host(c->ssl_, host.c_str());
      if (set != 1) return Status::IOError("TLS: cannot check the name ", host, ": ", SslError());
    }
    if (SSL_connect(c->ssl_) != 1) {
      return Status::IOError("TLS handshake with ", host, ":", port, " failed: ", SslError());
    }
    return c;
  }

  Status WriteAll(std::string_view data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n;
      if (ssl_) {
        n = SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off));
        if (n <= 0) return Status::IOError("TLS write failed: ", SslError());
      } else {
        n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EINTR) continue;
          return Status::IOError("send failed: ", std::strerror(errno));
        }
      }
      off += static_cast<size_t>(n);
    }
    return Status::OK();
  }

  /// Everything until the peer closes (requests say "Connection: close").
  Result<std::string> ReadAll() {
    std::string out;
    char buf[16384];
    while (out.size() < kMaxResponse) {
      ssize_t n;
      if (ssl_) {
        n = SSL_read(ssl_, buf, sizeof(buf));
        if (n <= 0) {
          int err = SSL_get_error(ssl_, static_cast<int>(n));
          if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && !out.empty())) break;
          return Status::IOError("TLS read failed: ", SslError());
        }
      } else {
        n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n < 0) {
          if (errno == EINTR) continue;
          return Status::IOError("receive failed: ", std::strerror(errno));
        }
        if (n == 0) break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  Connection() = default;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  return Hex(d, sizeof(d));
}

std::string UriEncodePath(std::string_view key) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size());
  for (unsigned char ch : key) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kDigits[ch >> 4];
      out += kDigits[ch & 15];
    }
  }
  return out;
}

std::string SigV4Authorization(const SigV4Request& r) {
  auto headers = r.headers;
  for (auto& [k, v] : headers) {
    std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
    v = Trim(v);
  }
  std::sort(headers.begin(), headers.end());
  std::string canonical_headers, signed_headers;
  for (const auto& [k, v] : headers) {
    canonical_headers += k + ":" + v + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += k;
  }
  const std::string canonical = r.method + "\n" + r.canonical_uri + "\n" + r.canonical_query +
                                "\n" + canonical_headers + "\n" + signed_headers + "\n" +
                                r.payload_sha256;
  const std::string date = r.amz_date.substr(0, 8);
  const std::string scope = date + "/" + r.region + "/" + r.service + "/aws4_request";
  const std::string to_sign =
      "AWS4-HMAC-SHA256\n" + r.amz_date + "\n" + scope + "\n" + Sha256Hex(canonical);
  std::string key = Hmac("AWS4" + r.secret_key, date);
  key = Hmac(key, r.region);
  key = Hmac(key, r.service);
  key = Hmac(key, "aws4_request");
  const std::string sig = Hmac(key, to_sign);
  return "AWS4-HMAC-SHA256 Credential=" + r.access_key + "/" + scope +
         ", SignedHeaders=" + signed_headers +
         ", Signature=" + Hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

Result<std::unique_ptr<S3ConditionalPut>> S3ConditionalPut::Make(
    const arrow::fs::S3FileSystem& fs) {
  std::unique_ptr<S3ConditionalPut> p(new S3ConditionalPut());
  p->options_ = fs.options();
  p->region_ = fs.region();
  if (p->region_.empty()) p->region_ = "us-east-1";
  std::string endpoint = p->options_.endpoint_override;
  std::string scheme = p->options_.scheme;
  if (endpoint.empty()) {
    // Arrow (like the AWS SDKs) takes an endpoint from these when the URI names none.
    for (const char* var : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
      const char* v = std::getenv(var);
      if (v && *v) {
        endpoint = v;
        break;
      }
    }
  }
  auto sep = endpoint.find("://");
  if (sep != std::string::npos) {
    scheme = endpoint.substr(0, sep);
    endpoint = endpoint.substr(sep + 3);
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (scheme != "http" && scheme != "https") {
    return Status::Invalid("S3 scheme must be http or https, not '", scheme, "'");
  }
  p->tls_ = scheme == "https";
  p->port_ = p->tls_ ? 443 : 80;
  if (endpoint.empty()) {
    // AWS: virtual-hosted-style requests; bucket names with dots use path style (TLS names).
    p->host_ = "s3." + p->region_ + ".amazonaws.com";
    p->virtual_addressing_ = true;
  } else {
    std::string host = endpoint;
    auto colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
      p->port_ = std::atoi(host.c_str() + colon + 1);
      host = host.substr(0, colon);
    }
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty() || p->port_ <= 0 || p->port_ > 65535) {
      return Status::Invalid("S3 endpoint '", p->options_.endpoint_override, "' is not host:port");
    }
    p->host_ = host;
    p->virtual_addressing_ = p->options_.force_virtual_addressing;
  }
  return p;
}

std::string S3ConditionalPut::UrlOf(const std::string& path) const {
  auto slash = path.find('/');
  std::string bucket = path.substr(0, slash);
  std::string key = slash == std::string::npos ? "" : path.substr(slash + 1);
  bool vhost = virtual_addressing_ && bucket.find('.') == std::string::npos;
  std::string host = vhost ? bucket + "." + host_ : host_;
  bool default_port = port_ == (tls_ ? 443 : 80);
  return std::string(tls_ ? "https://" : "http://") + host +
         (default_port ? "" : ":" + std::to_string(port_)) + "/" +
         (vhost ? "" : UriEncodePath(bucket) + "/") + UriEncodePath(key);
}

Result<S3ConditionalPut::Response> S3ConditionalPut::Send(const std::string& bucket,
                                                          const std::string& key,
                                                          std::string_view data) const {
  if (!options_.proxy_options.scheme.empty()) {
    return Status::NotImplemented("conditional PUT through an S3 proxy");
  }
  const bool vhost = virtual_addressing_ && bucket.find('.') == std::string::npos;
  const std::string host = vhost ? bucket + "." + host_ : host_;
  const bool default_port = port_ == (tls_ ? 443 : 80);
  const std::string host_header = (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                                  (default_port ? "" : ":" + std::to_string(port_));
  const std::string uri = "/" + (vhost ? "" : UriEncodePath(bucket) + "/") + UriEncodePath(key);

  SigV4Request sig;
  sig.method = "PUT";
  sig.canonical_uri = uri;
  sig.payload_sha256 = Sha256Hex(data);
  sig.amz_date = AmzDate();
  sig.region = region_;
  sig.access_key = options_.GetAccessKey();
  sig.secret_key = options_.GetSecretKey();
  const std::string token = options_.GetSessionToken();
  sig.headers = {{"host", host_header},
                 {"if-none-match", "*"},
                 {"x-amz-content-sha256", sig.payload_sha256},
                 {"x-amz-date", sig.amz_date}};
  if (!token.empty()) sig.headers.emplace_back("x-amz-security-token", token);

  std::string req = "PUT " + uri + " HTTP/1.1\r\n";
  for (const auto& [k, v] : sig.headers) req += k + ": " + v + "\r\n";
  if (!sig.access_key.empty()) req += "authorization: " + SigV4Authorization(sig) + "\r\n";
  req += "content-length: " + std::to_string(data.size()) + "\r\n";
  req += "content-type: application/octet-stream\r\nconnection: close\r\n\r\n";

  SigpipeGuard guard;
  MP_ASSIGN_OR_RAISE(auto conn, Connection::Open(host, port_, tls_, options_));
  MP_RETURN_NOT_OK(conn->WriteAll(req));
  MP_RETURN_NOT_OK(conn->WriteAll(data));
  MP_ASSIGN_OR_RAISE(std::string raw, conn->ReadAll());
  Response r;
  // "HTTP/1.1 412 Precondition Failed"
  auto sp = raw.find(' ');
  if (raw.rfind("HTTP/", 0) != 0 || sp == std::string::npos) {
    return Status::IOError("no HTTP response from ", host, ":", port_);
  }
  r.status = std::atoi(raw.c_str() + sp + 1);
  auto body = raw.find("\r\n\r\n");
  if (body != std::string::npos) r.body = raw.substr(body + 4);
  return r;
}

Result<PutOutcome> S3ConditionalPut::PutIfAbsent(const std::string& path,
                                                 std::string_view data) const {
  auto slash = path.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == path.size()) {
    return Status::Invalid("S3 path '", path, "' does not name bucket/key");
  }
  const std::string bucket = path.substr(0, slash);
  const std::string key = path.substr(slash + 1);
  Status last;
  bool maybe_written = false;  // an earlier attempt may have created the object
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
    auto r = Send(bucket, key, data);
    if (!r.ok()) {
      // A connection failure or timeout: the object may or may not have been written.
      last = r.status();
      maybe_written = true;
      continue;
    }
    if (r->status >= 200 && r->status < 300) return PutOutcome::kCreated;
    if (r->status == 412) {
      return maybe_written ? PutOutcome::kExistsAfterRetry : PutOutcome::kExists;
    }
    const std::string code = XmlField(r->body, "Code");
    const std::string msg = XmlField(r->body, "Message");
    if (r->status == 501) {
      return Status::NotImplemented("the S3 server at ", UrlOf(path),
                                    " does not support conditional writes (If-None-Match)");
    }
    // 409 ConditionalRequestConflict (a racing conditional write), 429, 5xx: try again.
    if (r->status == 409 || r->status == 429 || r->status >= 500) {
      last = Status::IOError("HTTP ", r->status, code.empty() ? "" : " " + code);
      maybe_written = maybe_written || r->status >= 500;
      continue;
    }
    return Status::IOError("conditional PUT of ", UrlOf(path), " failed: HTTP ", r->status,
                           code.empty() ? "" : " " + code, msg.empty() ? "" : ": " + msg);
  }
  return Status::IOError("conditional PUT of ", UrlOf(path), " failed: ", last.message());
}

}  // namespace millpond::fs::internal
