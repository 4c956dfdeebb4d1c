// Streaming merge of a bucket's sorted runs for compaction: each run is read a chunk at a time (a
// Parquet row group, or a slice of rows already in memory), the runs are cut into consecutive key
// windows that every run has fully buffered, and each window is merged with the table's merge
// engine (MergeKeyValuesForCompaction) and handed on in key order. Memory: about one chunk per run
// plus one window's output, whatever the size of the runs. Single-threaded.
// Mirrors Paimon's SortMergeReader over RecordReaders of each run (MergeTreeCompactRewriter).
#pragma once

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
#include "millpond/table/merge_read.h"

namespace millpond::table {

/// How a key-value data file's columns map to a schema (bucket_read.cc).
struct KeyValueFilePlan {
  std::string path;
  std::string format;
  std::vector<std::string> columns;  // file columns to read: _SEQUENCE_NUMBER, _VALUE_KIND, ...
  std::vector<const paimon::DataField*> file_fields;  // per schema field; null when absent
  bool nanos = false;  // INT96 timestamps read as nanoseconds
  int32_t level = 0;
  int64_t row_count = 0;  // rows the manifest says the file has
  /// False when the reader needs no sequence numbers (a file read straight through, not merged):
  /// _SEQUENCE_NUMBER is then not read and the rows' sequence numbers are 0.
  bool with_sequence = true;
};

/// The plan of file `e` read as rows of `schema` (`schemas` must hold its schema id and outlive
/// the plan).
Result<KeyValueFilePlan> PlanKeyValueFile(const std::string& table_path,
                                          const paimon::TableSchema& schema,
                                          const std::map<int64_t, paimon::TableSchema>& schemas,
                                          const paimon::ManifestEntry& e);

/// Rows read from a planned file (columns `plan.columns`) as key-value rows of `schema`.
Result<KeyValueRows> ToKeyValueRows(const std::shared_ptr<arrow::Table>& read,
                                    const KeyValueFilePlan& plan,
                                    const paimon::TableSchema& schema, arrow::MemoryPool* pool);

/// Compares a[i] with b[j] as the merge orders primary-key values (merge_read.cc): nulls first,
/// numbers by value, strings and binaries by unsigned bytes.
int CompareKeyValueCells(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j);

/// One sorted run, a chunk at a time, in key order.
class KeyValueRunReader {
 public:
  virtual ~KeyValueRunReader() = default;
  /// The next chunk (values in KeyValueOutputSchema, one chunk per column), or nullopt at the end.
  virtual Result<std::optional<KeyValueRows>> Next() = 0;
};

/// Reads key-value data file `e` as rows of `schema`, one Parquet row group at a time (ORC and
/// Avro files are read whole), dropping the positions in `deleted` (may be null; must outlive the
/// reader, as must `fs` and `schemas`). Buffers come from `pool`.
Result<std::unique_ptr<KeyValueRunReader>> OpenKeyValueFileReader(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas, const paimon::ManifestEntry& e,
    const std::vector<uint32_t>* deleted, arrow::MemoryPool* pool);

/// Rows already in memory, handed out in slices of `chunk_rows`.
std::unique_ptr<KeyValueRunReader> InMemoryRunReader(KeyValueRows rows, int64_t chunk_rows);

/// Cuts `runs` (each sorted by primary key) into the consecutive key windows of
/// MergeKeyValueRunsStreaming without merging them: `window_fn` gets, per window in key order,
/// the rows of every run that has rows in it (run order kept, `level` set); every row of a key
/// lies in one window.
Status ForEachKeyWindow(const paimon::TableSchema& schema,
                        std::vector<std::unique_ptr<KeyValueRunReader>> runs,
                        arrow::MemoryPool* pool,
                        const std::function<Status(std::vector<KeyValueRows>)>& window_fn);

/// Merges `runs` (each sorted by primary key; order as for MergeKeyValuesForCompaction, later runs
/// win ties) as MergeKeyValuesForCompaction does, calling `sink` with the merged rows of
/// consecutive key windows in key order (never an empty window). The concatenation of the windows
/// equals MergeKeyValuesForCompaction over the whole runs. Buffers come from `pool`.
Status MergeKeyValueRunsStreaming(const paimon::TableSchema& schema,
                                  std::vector<std::unique_ptr<KeyValueRunReader>> runs,
                                  bool drop_delete, arrow::MemoryPool* pool,
                                  const std::function<Status(KeyValueRows)>& sink);

/// A primary key: row `row` of `columns` (one array per field of the trimmed primary key, the
/// partition fields left out: KeyValueFileFormat::key_columns, in that order).
struct KeyRef {
  const arrow::ArrayVector* columns = nullptr;
  int64_t row = 0;
};

/// Compares two keys as the merge orders them.
int CompareKeyRefs(const KeyRef& a, const KeyRef& b);

/// Looks keys up in one key-value data file as a merge-join (one file of LookupLevels.lookup):
/// keys come in ascending order across calls and the file is read forward only, a batch at a
/// time; a Parquet row group is decoded only when its primary-key statistics may hold an asked
/// key (ORC and Avro files are read whole). The file is opened on the first Find. Positions in
/// `deleted` (may be null) are not found. `fs`, `schema`, `schemas`, `deleted` must outlive it.
class KeyValueFileLookup {
 public:
  virtual ~KeyValueFileLookup() = default;
  static Result<std::unique_ptr<KeyValueFileLookup>> Make(
      const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
      const std::map<int64_t, paimon::TableSchema>& schemas, const paimon::ManifestEntry& e,
      const std::vector<uint32_t>* deleted, arrow::MemoryPool* pool);
  /// The file's live rows whose keys are among `keys` (ascending, each above every key asked
  /// before), in key order, one per key found; `matched` receives the index in `keys` of each.
  virtual Result<KeyValueRows> Find(const std::vector<KeyRef>& keys,
                                    std::vector<size_t>* matched) = 0;
  /// Parquet row groups decoded (in part or whole) and skipped by their statistics so far.
  virtual int64_t row_groups_decoded() const = 0;
  virtual int64_t row_groups_skipped() const = 0;
};

}  // namespace millpond::table
