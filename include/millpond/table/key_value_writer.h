// Writes Arrow record batches into a primary-key table with fixed buckets: rows are routed by
// partition and bucket, buffered per bucket in memory (all buckets together bounded by
// `write-buffer-size`) and flushed as level-0 sorted runs in Paimon's key-value file layout
// (_KEY_<k>..., _SEQUENCE_NUMBER, _VALUE_KIND, then every table column). Sequence numbers continue
// per bucket after the newest live file of the latest snapshot. Single-threaded.
// Mirrors Paimon's KeyValueFileStoreWrite / MergeTreeWriter / KeyValueDataFileWriter.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/manifest.h"
#include "millpond/paimon/schema.h"

namespace millpond::table {

enum class ChangelogProducer;  // changelog.h

/// Paimon's RowKind, stored as the file column _VALUE_KIND (TINYINT).
enum class RowKind : int8_t { kInsert = 0, kUpdateBefore = 1, kUpdateAfter = 2, kDelete = 3 };

/// Optional input column carrying each row's kind: strings "+I", "-U", "+U", "-D" or int 0..3.
inline constexpr const char* kRowKindColumn = "_ROW_KIND";
inline constexpr const char* kKeyFieldPrefix = "_KEY_";
inline constexpr const char* kSequenceNumberField = "_SEQUENCE_NUMBER";
inline constexpr const char* kValueKindField = "_VALUE_KIND";
/// Field ids Paimon gives the system columns of key-value files (SpecialFields).
inline constexpr int32_t kKeyFieldIdStart = 1073741823;        // Integer.MAX_VALUE / 2
inline constexpr int32_t kSequenceNumberFieldId = 2147483646;  // Integer.MAX_VALUE - 1
inline constexpr int32_t kValueKindFieldId = 2147483645;       // Integer.MAX_VALUE - 2

/// Completes a new primary-key table schema the way Paimon's catalog does: assigns field ids
/// (0..n-1, ROW sub-fields after), makes primary-key columns NOT NULL, requires `bucket` > 0 and
/// a bucket key contained in the primary key, Parquet data files and a known `merge-engine`.
/// Sets id 0 and the creation time. Commit the result with SchemaManager::TryCommit.
Result<paimon::TableSchema> PrepareKeyValueTableSchema(paimon::TableSchema schema);

/// The key-value data file layout of a primary-key table and the options files are written with;
/// shared by KeyValueWriter (level-0 runs) and compaction (rewritten runs).
struct KeyValueFileFormat {
  paimon::TableSchema schema;
  std::vector<int> key_columns;  // table columns of the trimmed primary key
  std::vector<paimon::DataTypePtr> key_types;
  std::vector<paimon::DataField> file_fields;  // _KEY_*, _SEQUENCE_NUMBER, _VALUE_KIND, columns
  int32_t num_buckets = 0;
  int64_t target_file_size = 128ll << 20;
  std::string compression;
  int compression_level = 1;

  static Result<KeyValueFileFormat> Make(const paimon::TableSchema& schema);
};

/// Where WriteKeyValueRun puts a run: files `<dir>/<file_prefix><counter>.parquet`.
struct KeyValueRunTarget {
  std::string partition;  // serialized BinaryRow
  int32_t bucket = 0;
  std::string dir;
  std::string file_prefix;
  int64_t* file_counter = nullptr;
  int32_t level = 0;
  paimon::FileSource file_source = paimon::FileSource::kAppend;
};

/// Writes one sorted run: `run` holds the table columns, then _VALUE_KIND (int8), then
/// _SEQUENCE_NUMBER (int64), sorted by key, each key at most once. Rolls files at
/// target-file-size; appends one ADD entry per file to `out` (with key and value statistics,
/// sequence range, delete count) and each path to `written` as soon as the file is created.
Status WriteKeyValueRun(const fs::FileSystem& fs, const KeyValueFileFormat& format,
                        const KeyValueRunTarget& target,
                        const std::shared_ptr<arrow::RecordBatch>& run,
                        std::vector<paimon::ManifestEntry>* out, std::vector<std::string>* written);

/// Writes one sorted run piece by piece (src/table/kv_run_writer.cc): batches in
/// WriteKeyValueRun's run layout, in key order across calls, appended to the open file, which is
/// rolled at target-file-size. Holds at most the open file's current row group in memory.
/// WriteKeyValueRun is Write + Finish. Single-threaded.
class KeyValueRunWriter {
 public:
  /// `out`, `written` and `fs` must outlive the writer.
  KeyValueRunWriter(const fs::FileSystem& fs, KeyValueFileFormat format, KeyValueRunTarget target,
                    std::vector<paimon::ManifestEntry>* out, std::vector<std::string>* written);
  ~KeyValueRunWriter();
  KeyValueRunWriter(const KeyValueRunWriter&) = delete;
  KeyValueRunWriter& operator=(const KeyValueRunWriter&) = delete;

  /// Appends rows whose keys follow those written before.
  Status Write(const std::shared_ptr<arrow::RecordBatch>& run);
  /// Closes the open file and appends its ADD entry to `out`. Call once, after the last Write.
  Status Finish();
  /// Rows written so far.
  int64_t rows() const { return rows_; }

 private:
  struct OpenFile;
  Status CloseFile();

  const fs::FileSystem& fs_;
  KeyValueFileFormat format_;
  KeyValueRunTarget target_;
  std::vector<paimon::ManifestEntry>* out_;
  std::vector<std::string>* written_;
  std::unique_ptr<OpenFile> open_;
  int64_t rows_ = 0;
};

class KeyValueWriter {
 public:
  /// A writer on `schema` (a primary-key table with bucket > 0). Reads the latest snapshot of
  /// `table_path` once, so that each bucket's sequence numbers continue after its live files.
  static Result<std::unique_ptr<KeyValueWriter>> Make(std::shared_ptr<fs::FileSystem> fs,
                                                      std::string table_path,
                                                      paimon::TableSchema schema);
  ~KeyValueWriter();

  /// Buffers a batch (any column order; see ConformToSchema). Row kinds come from a
  /// `_ROW_KIND` column when the batch has one, else every row is `kind` (kInsert = upsert,
  /// kDelete = delete by key). Flushes sorted runs when the buffers exceed write-buffer-size.
  Status Write(const std::shared_ptr<arrow::RecordBatch>& batch, RowKind kind = RowKind::kInsert);
  /// Flushes every buffer and returns the ADD entries of all files written since the last call.
  /// The writer can be used again after; sequence numbers keep counting. With
  /// changelog-producer input, `changelog` receives the changelog files of those flushes, to be
  /// committed with the entries (CommitOptions::changelog); pass it, or they stay uncommitted.
  Result<std::vector<paimon::ManifestEntry>> PrepareCommit(
      std::vector<paimon::ManifestEntry>* changelog = nullptr);
  /// Drops the buffers and deletes every file written and not yet handed out by PrepareCommit,
  /// and any compaction output not yet handed out by PrepareCompaction.
  void Abort();

  /// Call after the entries of PrepareCommit are committed (APPEND). Runs Paimon's universal
  /// compaction (or, with `full`, full compaction) for every bucket this writer wrote, and returns
  /// the DELETE + ADD entries of those and of the compactions that stalled writes, to be
  /// committed with commit_kind "COMPACT". Empty when nothing was compacted. Tables that need
  /// lookup (changelog.h) compact every level-0 file up. With changelog-producer lookup or
  /// full-compaction, `changelog` receives the changelog files of these compactions (and of the
  /// stalled ones), to be committed with the COMPACT entries. With `compact_now` false, only the
  /// compactions already made (stalled writes) are handed out (lookup-wait=false).
  Result<std::vector<paimon::ManifestEntry>> PrepareCompaction(
      bool full = false, std::vector<paimon::ManifestEntry>* changelog = nullptr,
      bool compact_now = true);
  /// After a COMPACT commit of PrepareCompaction's entries failed: deletes their new files and
  /// re-reads the buckets' files from the latest snapshot.
  Status AbortCompaction(const std::vector<paimon::ManifestEntry>& compact_entries);

  /// Sorted runs the bucket (partition row, bucket) has now, counting uncommitted files.
  int64_t SortedRuns(const std::string& partition, int32_t bucket) const;
  /// Compactions run so far because a bucket reached num-sorted-run.stop-trigger during Write.
  int64_t stall_count() const { return stall_count_; }

  int64_t rows_written() const { return rows_seen_; }
  /// Bytes held in the write buffers now.
  int64_t buffered_bytes() const { return buffered_bytes_; }
  /// Sorted runs flushed so far (one per buffer flush; a flush may roll several files).
  int64_t flush_count() const { return flush_count_; }

 private:
  struct BucketBuffer;
  KeyValueWriter() = default;
  Result<BucketBuffer*> BufferFor(const std::shared_ptr<arrow::RecordBatch>& batch, int64_t row,
                                  int32_t bucket);
  Status Append(BucketBuffer* b, const std::shared_ptr<arrow::RecordBatch>& part);
  Status FlushIfFull();
  Status Flush(BucketBuffer* b);
  Status WriteBuffer(BucketBuffer* b);  // Flush's sorted runs, before any stall compaction
  Status WriteRun(BucketBuffer* b, const std::shared_ptr<arrow::RecordBatch>& run);
  Status ReloadLevels();
  // Compacts one bucket's runs; with `stalled` only when they exceed the stop trigger.
  Result<bool> CompactBucket(const std::string& key, bool full, bool stalled);
  Result<std::shared_ptr<arrow::Array>> RowKinds(const std::shared_ptr<arrow::RecordBatch>& batch,
                                                 RowKind kind, int64_t first_row) const;

  enum class MergeEngine { kDeduplicate, kFirstRow, kPartialUpdate, kAggregation };

  std::shared_ptr<fs::FileSystem> fs_;
  std::string table_path_;
  paimon::TableSchema schema_;
  MergeEngine merge_engine_ = MergeEngine::kDeduplicate;
  bool ignore_delete_ = false;
  std::vector<int> key_columns_;        // trimmed primary key (primary key minus partition keys)
  std::vector<int> sequence_columns_;   // `sequence.field`
  bool sequence_descending_ = false;
  std::vector<int> partition_columns_;
  std::vector<paimon::DataTypePtr> partition_types_;
  std::vector<int> bucket_columns_;
  std::vector<paimon::DataTypePtr> bucket_types_;
  int32_t num_buckets_ = 0;
  int64_t write_buffer_size_ = 256ll << 20;
  int64_t rows_seen_ = 0;
  int64_t buffered_bytes_ = 0;
  int64_t flush_count_ = 0;
  std::map<std::string, int64_t> restored_max_sequence_;  // key: partition row + bucket
  std::map<std::string, std::unique_ptr<BucketBuffer>> buffers_;
  std::vector<paimon::ManifestEntry> finished_;
  std::vector<std::string> written_paths_;
  KeyValueFileFormat format_;
  // Compaction: every bucket's live files (committed and uncommitted), keyed like buffers_.
  std::map<std::string, std::vector<paimon::ManifestEntry>> levels_;
  std::map<int64_t, paimon::TableSchema> schemas_;  // every schema id of the table
  std::vector<paimon::ManifestEntry> compact_entries_;  // DELETE + ADD not yet handed out
  ChangelogProducer changelog_producer_{};
  std::vector<paimon::ManifestEntry> changelog_;          // input changelog not yet handed out
  std::vector<paimon::ManifestEntry> compact_changelog_;  // compaction changelog, likewise
  int64_t stall_count_ = 0;
};

}  // namespace millpond::table
