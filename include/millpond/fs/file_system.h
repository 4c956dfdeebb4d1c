// The one storage seam: a warehouse URI ("/path", "file:///path", "s3://bucket/prefix") resolved
// to an arrow::fs::FileSystem, plus the primitives commits need, above all "create this file only
// if it does not exist yet" (local: link(2) of a fully written temp file; S3: conditional PUT).
// Thread-safe: every method may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/filesystem/filesystem.h>

#include "millpond/common/status.h"

namespace millpond::fs {

class FileSystem {
 public:
  /// Resolves `uri`; `root` becomes the path the URI names (absolute, no trailing slash).
  static Result<std::shared_ptr<FileSystem>> Make(const std::string& uri, std::string* root);

  explicit FileSystem(std::shared_ptr<arrow::fs::FileSystem> fs, bool local)
      : fs_(std::move(fs)), local_(local) {}

  const std::shared_ptr<arrow::fs::FileSystem>& arrow_fs() const { return fs_; }
  bool is_local() const { return local_; }

  Result<std::string> ReadFile(const std::string& path) const;
  Result<bool> Exists(const std::string& path) const;
  Result<bool> IsDirectory(const std::string& path) const;
  /// Writes `data` to `path` so that readers see either the old file or all of the new one.
  Status WriteFileAtomic(const std::string& path, std::string_view data) const;
  /// Writes `data` to `path` only if no file is there; returns false (and writes nothing) if one
  /// is. The file appears whole or not at all.
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

 private:
  std::shared_ptr<arrow::fs::FileSystem> fs_;
  bool local_;
};

/// Suffix of the hidden temp files (".NAME.….tmp") that atomic writes leave behind when killed.
inline constexpr const char* kTempSuffix = ".tmp";

/// Joins path components with exactly one '/' between them.
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace millpond::fs
