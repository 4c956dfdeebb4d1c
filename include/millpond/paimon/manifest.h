// Paimon's manifest metadata: data-file metas, manifest entries and manifest-list entries, and
// their encoding as Avro object-container files (as Paimon Java writes them, zstd-compressed by
// default) and decoding from Avro or ORC (`manifest.format`). Pure codecs over bytes; thread-safe.
// Mirrors org.apache.paimon.io.DataFileMeta, manifest.ManifestEntry, manifest.ManifestFileMeta.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millpond/common/status.h"

namespace millpond::paimon {

/// Min/max values as serialized BinaryRows (see binary_row.h) and null counts per column.
struct SimpleStats {
  std::string min_values;
  std::string max_values;
  /// One entry per stats column; nullopt entries are unknown counts. `null_counts_present` is false
  /// when the whole array is null in the file.
  std::vector<std::optional<int64_t>> null_counts;
  bool null_counts_present = true;

  /// Stats over zero columns (BinaryRow of arity 0), as Paimon writes for absent statistics.
  static SimpleStats Empty();
  bool operator==(const SimpleStats&) const = default;
};

enum class FileSource : int32_t { kAppend = 0, kCompact = 1 };

struct DataFileMeta {
  std::string file_name;
  int64_t file_size = 0;
  int64_t row_count = 0;
  std::string min_key;  // serialized BinaryRow (empty row for append tables)
  std::string max_key;
  SimpleStats key_stats;
  SimpleStats value_stats;
  int64_t min_sequence_number = 0;
  int64_t max_sequence_number = 0;
  int64_t schema_id = 0;
  int32_t level = 0;
  std::vector<std::string> extra_files;
  std::optional<int64_t> creation_time_millis;  // Avro timestamp-millis (local wall-clock millis)
  std::optional<int64_t> delete_row_count;
  std::optional<std::string> embedded_file_index;
  std::optional<int32_t> file_source;
  /// Columns `value_stats` covers, in order; nullopt means every column of the file's schema.
  std::optional<std::vector<std::string>> value_stats_cols;
  std::optional<std::string> external_path;
  std::optional<int64_t> first_row_id;
  std::optional<std::vector<std::string>> write_cols;

  bool operator==(const DataFileMeta&) const = default;
};

enum class FileKind : int32_t { kAdd = 0, kDelete = 1 };

struct ManifestEntry {
  FileKind kind = FileKind::kAdd;
  std::string partition;  // serialized BinaryRow of the partition values
  int32_t bucket = 0;
  int32_t total_buckets = 0;
  DataFileMeta file;

  bool operator==(const ManifestEntry&) const = default;
};

struct ManifestFileMeta {
  std::string file_name;
  int64_t file_size = 0;
  int64_t num_added_files = 0;
  int64_t num_deleted_files = 0;
  SimpleStats partition_stats;
  int64_t schema_id = 0;
  std::optional<int32_t> min_bucket;
  std::optional<int32_t> max_bucket;
  std::optional<int32_t> min_level;
  std::optional<int32_t> max_level;
  std::optional<int64_t> min_row_id;
  std::optional<int64_t> max_row_id;

  bool operator==(const ManifestFileMeta&) const = default;
};

/// Avro block codecs Paimon uses for manifests (`manifest.compression`).
enum class AvroCodec { kNull, kDeflate, kZstd };
Result<AvroCodec> AvroCodecFromName(std::string_view name);  // "zstd", "deflate", "none"/"null"

/// Decodes a manifest file (Avro object container or ORC, detected from the magic bytes).
/// `what` names the file in error messages.
Result<std::vector<ManifestEntry>> DecodeManifestEntries(std::string_view bytes,
                                                         std::string_view what);
/// Encodes manifest entries as an Avro object container with the newest Paimon schema
/// (including _VALUE_STATS_COLS, _EXTERNAL_PATH, _FIRST_ROW_ID, _WRITE_COLS).
Result<std::string> EncodeManifestEntries(const std::vector<ManifestEntry>& entries,
                                          AvroCodec codec);

Result<std::vector<ManifestFileMeta>> DecodeManifestList(std::string_view bytes,
                                                         std::string_view what);
Result<std::string> EncodeManifestList(const std::vector<ManifestFileMeta>& metas,
                                       AvroCodec codec);

}  // namespace millpond::paimon
