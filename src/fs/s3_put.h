// The one S3 request Arrow's S3FileSystem cannot make: a PUT with "If-None-Match: *", which
// creates an object only if its key is free (AWS S3 since 2024, MinIO, versitygw, R2, GCS's XML
// API). Commits need exactly that, so it is signed (AWS Signature Version 4) and sent here, over
// plain HTTP or TLS (OpenSSL), with the endpoint, region and credentials of the S3FileSystem it
// accompanies. Private to src/fs; thread-safe (each request opens its own connection).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <arrow/filesystem/s3fs.h>

#include "millpond/common/status.h"

namespace millpond::fs::internal {

/// What SigV4 signs. Header names are lowercase; `headers` must include "host" and every
/// x-amz-* header sent (they are all signed).
struct SigV4Request {
  std::string method;
  std::string canonical_uri;    // already URI-encoded (UriEncodePath)
  std::string canonical_query;  // already encoded and sorted; empty for none
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256;  // lowercase hex
  std::string amz_date;        // "YYYYMMDDTHHMMSSZ"
  std::string region;
  std::string service = "s3";
  std::string access_key;
  std::string secret_key;
};

/// The value of the Authorization header for `req`.
std::string SigV4Authorization(const SigV4Request& req);
/// Percent-encodes an object key for a request path (RFC 3986 unreserved characters and '/' stay).
std::string UriEncodePath(std::string_view key);
std::string Sha256Hex(std::string_view data);

enum class PutOutcome {
  kCreated,
  kExists,
  /// 412 after an attempt that failed without an answer: the object may be that attempt's.
  kExistsAfterRetry,
};

/// Where and how conditional PUTs for one S3FileSystem go.
class S3ConditionalPut {
 public:
  static Result<std::unique_ptr<S3ConditionalPut>> Make(const arrow::fs::S3FileSystem& fs);

  /// PUTs `data` at `path` ("bucket/key") only if no object is there (HTTP 412 when one is).
  /// Retries connection failures, 409, 429 and 5xx. A server that ignores If-None-Match would
  /// overwrite: use one that honours it.
  Result<PutOutcome> PutIfAbsent(const std::string& path, std::string_view data) const;

  /// "http://127.0.0.1:7070/bucket/key"-style URL of `path`, for messages and tests.
  std::string UrlOf(const std::string& path) const;

 private:
  S3ConditionalPut() = default;
  struct Response {
    int status = 0;
    std::string body;
  };
  Result<Response> Send(const std::string& bucket, const std::string& key,
                        std::string_view data) const;

  arrow::fs::S3Options options_;
  std::string region_;
  bool tls_ = true;
  std::string host_;  // endpoint host (no port); for virtual addressing, without the bucket
  int port_ = 443;
  bool virtual_addressing_ = false;
};

}  // namespace millpond::fs::internal
