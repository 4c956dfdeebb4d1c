// Lists the files of a folder for `ingest files` without ever leaving it: entries are found
// relative to open directory descriptors (no path re-resolution), symbolic links are followed
// only to regular files inside the folder, and everything else that cannot be ingested (links
// out of the folder or in loops, unreadable folders, devices, names that are not UTF-8) is
// reported, one problem per entry, while the walk goes on. Single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "millpond/common/status.h"

namespace millpond::blob {

struct WalkedFile {
  std::string rel;   // relative path, '/'-separated, no "." or ".." components
  std::string open;  // absolute path to open (the link target's real path for a followed link)
  int64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t dev = 0;  // identity when listed: an opened file must still be this one
  uint64_t ino = 0;
};

struct WalkOptions {
  bool recursive = false;
  /// fnmatch(3) glob; with a '/' it matches the relative path, else the file name. Empty: all.
  std::string pattern;
};

/// Checks a --pattern: relative, no ".." component.
Status ValidatePattern(const std::string& pattern);

/// The files under `root` (an existing folder), sorted by relative path; `problem` is called with
/// "<relative path>: <what is wrong>" for each entry that is skipped.
Result<std::vector<WalkedFile>> WalkFolder(const std::string& root, const WalkOptions& options,
                                           const std::function<void(const std::string&)>& problem);

/// True when `s` is valid UTF-8.
bool IsUtf8(const std::string& s);

}  // namespace millpond::blob
