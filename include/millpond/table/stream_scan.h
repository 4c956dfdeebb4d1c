// Streaming reads of a table: a full read of a starting snapshot (or none), then the changes of
// every later snapshot as it appears, each row tagged with its row kind. A consumer id records
// progress in <table>/consumer/consumer-<id> ({"nextSnapshot": N}, Paimon's format) so that a
// restart resumes where it stopped and snapshot expiration keeps what the consumer still needs.
// Primary-key tables start with their merged rows (+I) and follow with the delta data files of
// APPEND snapshots (changelog-producer none) or the changelog files of every snapshot (input,
// lookup, full-compaction), each row with its kind from _VALUE_KIND.
// One StreamScan is driven by one thread; Stop() may be signalled from any thread.
// Mirrors Paimon's DataTableStreamScan with DeltaFollowUpScanner and ChangelogFollowUpScanner.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/manifest.h"
#include "millpond/paimon/schema.h"
#include "millpond/paimon/snapshot.h"
#include "millpond/table/changelog.h"
#include "millpond/table/key_value_writer.h"
#include "millpond/table/predicate.h"

namespace millpond::table {

class BlobResolver;

// Streamed rows carry kRowKindColumn ("_ROW_KIND": "+I", "-U", "+U", "-D") first, the column
// name writers accept row kinds in (key_value_writer.h).
/// Folder and file prefix of consumer progress files (org.apache.paimon.consumer.ConsumerManager).
inline constexpr const char* kConsumerDir = "consumer";
inline constexpr const char* kConsumerPrefix = "consumer-";

/// Time for the follow loop, so tests need not sleep (RocksDB's SystemClock).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMillis() = 0;
  virtual void SleepMillis(int64_t millis) = 0;
  /// The steady clock and std::this_thread::sleep_for. Thread-safe.
  static Clock* Default();
};

struct StreamOptions {
  std::vector<std::string> columns;  // empty: every column
  std::string where;                 // filter text (see predicate.h); empty: all rows
  /// Start with the changes of this snapshot (no full read). Without it (and without a consumer
  /// position) the stream starts with a full read of the latest snapshot, as Paimon's default
  /// scan.mode (latest-full) does.
  std::optional<int64_t> from_snapshot;
  /// Records progress in consumer/consumer-<id>; an existing position wins over from_snapshot.
  std::string consumer_id;
  /// How often to look for a new snapshot (Paimon's continuous.discovery-interval).
  int64_t interval_millis = 1000;
  /// Bounded mode: stop once no new snapshot appeared for this long. Unset: follow until Stop().
  std::optional<int64_t> until_idle_millis;
};

/// Where streamed rows go. `end_snapshot` runs after the rows of a snapshot were written and must
/// make them durable/visible (flush); only then is the consumer position advanced past it.
struct StreamSink {
  std::function<Status(const std::shared_ptr<arrow::RecordBatch>&)> write;
  std::function<Status(int64_t snapshot_id)> end_snapshot;  // may be empty
};

/// Reads and writes consumer progress files.
/// Mirrors org.apache.paimon.consumer.ConsumerManager (Consumer JSON: {"nextSnapshot": N}).
class ConsumerManager {
 public:
  ConsumerManager(std::shared_ptr<fs::FileSystem> fs, std::string table_path)
      : fs_(std::move(fs)), table_path_(std::move(table_path)) {}

  /// Consumer ids are file-name safe: letters, digits, '-', '_' and '.', not starting with '.'.
  static Status ValidateId(const std::string& id);
  std::string ConsumerPath(const std::string& id) const;
  /// The next snapshot consumer `id` will read, or nullopt if it has no file.
  Result<std::optional<int64_t>> NextSnapshot(const std::string& id) const;
  /// Atomically replaces consumer `id`'s file with {"nextSnapshot": next_snapshot}.
  Status Reset(const std::string& id, int64_t next_snapshot) const;
  Status Delete(const std::string& id) const;

 private:
  std::shared_ptr<fs::FileSystem> fs_;
  std::string table_path_;
};

/// What a snapshot contributes to the stream: data files and the row kind of their rows. For
/// append tables every change is an insert; key-value files of primary-key tables (delta data
/// files, changelog files) carry a row kind per row (kind_from_file), read from _VALUE_KIND.
struct StreamChange {
  paimon::ManifestEntry entry;
  std::string row_kind = "+I";   // used when !kind_from_file
  bool kind_from_file = false;
};

class StreamScan {
 public:
  /// Resolves where the stream starts (consumer position, from_snapshot, or a full read of the
  /// latest snapshot), binds projection and filter against the latest schema. Refuses positions
  /// that were expired, and primary-key tables with BLOB columns (Paimon has none).
  static Result<std::unique_ptr<StreamScan>> Make(std::shared_ptr<fs::FileSystem> fs,
                                                  std::string table_path, StreamOptions options,
                                                  Clock* clock = nullptr);

  /// _ROW_KIND (string) followed by the projected columns.
  const std::shared_ptr<arrow::Schema>& output_schema() const { return output_schema_; }
  /// The snapshot the stream will read next (its full state first if full_read_pending()).
  int64_t next_snapshot() const { return next_snapshot_; }
  bool full_read_pending() const { return full_read_snapshot_.has_value(); }

  /// Processes the next snapshot if it exists (the initial full read counts as one): writes its
  /// rows, ends it on the sink, advances the consumer. False when there was nothing new.
  Result<bool> PollOnce(const StreamSink& sink);
  /// Polls every interval until Stop(), `stop` becomes true, or the until-idle bound passes.
  Status Run(const StreamSink& sink, const std::atomic<bool>* stop = nullptr);
  void Stop() { stopped_.store(true); }

 private:
  StreamScan() = default;
  /// The changes snapshot `s` contributes; empty for snapshots that carry no new rows (COMPACT,
  /// ANALYZE, and OVERWRITE unless streaming-read-overwrite is set).
  Result<std::vector<StreamChange>> PlanSnapshot(const paimon::Snapshot& s) const;
  Status ReadChanges(const std::vector<StreamChange>& changes, const StreamSink& sink);
  /// Tables with BLOB columns or data evolution: the rows of one row-id group of new files (a
  /// data file and the .blob files beside it) under `row_kind`.
  Status ReadRowIdChanges(const std::vector<paimon::ManifestEntry>& group,
                          const std::string& row_kind, const StreamSink& sink);
  Result<std::shared_ptr<arrow::RecordBatch>> ReadFile(const StreamChange& change);
  /// Primary-key tables: a key-value file's rows with their own kinds.
  Result<std::shared_ptr<arrow::RecordBatch>> ReadKeyValueFile(const StreamChange& change);
  /// Primary-key tables: the merged rows of snapshot `s` as +I. With lookup only files above
  /// level 0 are read, with full-compaction only the max level: the rest reaches the stream
  /// through the changelog of the compaction that will follow (DataTableStreamScan).
  Status ReadMergedSnapshot(const paimon::Snapshot& s, const StreamSink& sink);
  /// Filters `values` (every field of schema_) and projects it behind the `kinds` column.
  Result<std::shared_ptr<arrow::RecordBatch>> ToOutput(std::shared_ptr<arrow::RecordBatch> values,
                                                       std::shared_ptr<arrow::Array> kinds);
  /// Layout of the rows ReadMappedFile returns (the read fields, nullable).
  std::shared_ptr<arrow::Schema> ReadSchema() const;
  Result<const paimon::TableSchema*> SchemaOf(int64_t id);
  Status Advance(int64_t snapshot_id, const StreamSink& sink);

  std::shared_ptr<fs::FileSystem> fs_;
  std::string table_path_;
  StreamOptions options_;
  Clock* clock_ = nullptr;
  std::atomic<bool> stopped_{false};
  paimon::TableSchema schema_;  // the schema rows are read as (latest when the stream started)
  std::map<int64_t, paimon::TableSchema> schemas_;
  std::optional<BoundPredicate> predicate_;
  std::vector<int> output_fields_;  // indices into schema_.fields
  std::vector<int> read_fields_;    // output fields plus the filter's columns
  std::shared_ptr<arrow::Schema> output_schema_;
  ChangelogProducer producer_ = ChangelogProducer::kNone;
  std::optional<int64_t> full_read_snapshot_;
  int64_t next_snapshot_ = 1;
  bool row_id_merge_ = false;             // BLOB columns or data evolution: read by row-id group
  std::shared_ptr<BlobResolver> blobs_;  // BLOB values of row-id groups
};

}  // namespace millpond::table
