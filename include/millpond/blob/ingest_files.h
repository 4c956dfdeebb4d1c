// `millpond ingest files`: one row per file of a folder in a Paimon table (created on first use),
// the bytes stored once in the warehouse's blob store and referenced from a BLOB column.
// Rows: relative path, version (1, then +1 whenever the content changes), size, content type,
// SHA-256 (the blob id), modification time, capture time (EXIF DateTimeOriginal, else the
// modification time), image width and height, video duration, codec and frame rate, ingest time,
// and the blob. A file whose size and modification time match its latest row is not read again;
// one whose bytes are unchanged adds nothing. A file that cannot be ingested (unreadable, changed
// while read, a link out of the folder...) is reported and skipped; the others go on, and every
// batch is committed on its own, so what was committed stays. Single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "millpond/common/status.h"

namespace millpond::blob {

/// The columns of a files table, in `table create --schema` syntax.
extern const char* const kFilesTableSchema;

struct IngestProgress {
  int64_t files_done = 0;
  int64_t files_total = 0;
  int64_t bytes_done = 0;
  int64_t bytes_total = 0;
};

struct IngestFilesOptions {
  std::string dir;
  std::string table;  // DB.TABLE
  bool recursive = false;
  /// fnmatch(3) glob; with a '/' it matches the relative path, else the file name.
  std::string pattern;
  /// A batch is committed once it holds this many new files or bytes.
  int64_t batch_files = 1000;
  int64_t batch_bytes = 1LL << 30;
  std::function<void(const IngestProgress&)> progress;
  /// Called with "<relative path>: <reason>" for each file skipped because of a problem.
  std::function<void(const std::string&)> problem;
};

struct IngestFilesResult {
  int64_t files_seen = 0;
  int64_t added = 0;         // new paths
  int64_t new_versions = 0;  // paths whose content changed
  int64_t unchanged = 0;
  int64_t failed = 0;
  int64_t bytes_added = 0;
  std::vector<int64_t> snapshots;  // committed, in order
};

Result<IngestFilesResult> IngestFiles(const std::string& warehouse_uri,
                                      const IngestFilesOptions& options);

}  // namespace millpond::blob
