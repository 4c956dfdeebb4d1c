// The one storage seam: a warehouse URI ("/path", "file:///path", "s3://bucket/prefix") resolved
// to an arrow::fs::FileSystem, plus the primitives commits need, above all "create this file only
// if it does not exist yet" (local: link(2) of a fully written temp file; S3: a PUT with
// "If-None-Match: *"). Thread-safe: every method may be called concurrently.
//
// S3 URIs are Arrow's: s3://[ACCESS:SECRET@]bucket/prefix[?region=R&endpoint_override=HOST:PORT
// &scheme=http|https&force_virtual_addressing=true...]; without credentials in the URI, the AWS
// chain applies (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/filesystem/filesystem.h>

#include "millpond/common/status.h"

namespace millpond::fs {

namespace internal {
class S3ConditionalPut;
}

class FileSystem {
 public:
  /// Resolves `uri`; `root` becomes the path the URI names (absolute, no trailing slash).
  static Result<std::shared_ptr<FileSystem>> Make(const std::string& uri, std::string* root);

  explicit FileSystem(std::shared_ptr<arrow::fs::FileSystem> fs, bool local)
      : fs_(std::move(fs)), local_(local) {}
  /// An S3 file system whose create-if-absent is `put` (a conditional PUT).
  FileSystem(std::shared_ptr<arrow::fs::FileSystem> fs,
             std::shared_ptr<const internal::S3ConditionalPut> put)
      : fs_(std::move(fs)), local_(false), s3_put_(std::move(put)) {}

  const std::shared_ptr<arrow::fs::FileSystem>& arrow_fs() const { return fs_; }
  bool is_local() const { return local_; }

  Result<std::string> ReadFile(const std::string& path) const;
  Result<bool> Exists(const std::string& path) const;
  Result<bool> IsDirectory(const std::string& path) const;
  /// Writes `data` to `path` so that readers see either the old file or all of the new one.
  Status WriteFileAtomic(const std::string& path, std::string_view data) const;
  /// Writes `data` to `path` only if no file is there; returns false (and writes nothing) if one
  /// is. The file appears whole or not at all. Atomic locally and on S3 (conditional PUT); on
  /// other non-local file systems it is check-then-write.
  Result<bool> CreateIfAbsent(const std::string& path, std::string_view data) const;
  /// Plain write of a new file (data files, manifests: names are unique).
  Status WriteFile(const std::string& path, std::string_view data) const;
  Status MakeDirs(const std::string& path) const;
  Status DeleteFile(const std::string& path) const;
  Status DeleteDirContents(const std::string& path) const;
  /// Entries directly under `dir` (names only); an absent directory gives an empty list.
  Result<std::vector<arrow::fs::FileInfo>> List(const std::string& dir) const;
  Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInput(const std::string& path) const;
  Result<std::shared_ptr<arrow::io::OutputStream>> OpenOutput(const std::string& path) const;
  /// Copies `from` on this file system to `to` on `dst` in pieces of `piece` bytes (never the
  /// whole file in memory); `to` appears whole or not at all (locally: a synced temporary file
  /// renamed; object stores: a multipart upload, visible when completed). Returns the bytes
  /// copied.
  Result<int64_t> CopyFileAtomic(const std::string& from, const FileSystem& dst,
                                 const std::string& to, int64_t piece = 8 << 20) const;

 private:
  Status MakeParentDirs(const std::string& path) const;

  std::shared_ptr<arrow::fs::FileSystem> fs_;
  bool local_;
  std::shared_ptr<const internal::S3ConditionalPut> s3_put_;  // S3 only
};

/// Suffix of the hidden temp files (".NAME.….tmp") that atomic writes leave behind when killed.
inline constexpr const char* kTempSuffix = ".tmp";

/// `uri` with any "user:secret@" credentials replaced by "***@", for messages.
std::string RedactUri(const std::string& uri);

/// Joins path components with exactly one '/' between them.
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace millpond::fs
