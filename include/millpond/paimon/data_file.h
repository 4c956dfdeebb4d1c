// Data files of a Paimon table: Parquet writing (with Paimon's field ids and physical layout:
// small decimals as INT32/INT64, TIMESTAMP(7..9) as INT96) and reading of Parquet, ORC and Avro
// files into Arrow. A writer is single-threaded; the read function is thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/types.h"

namespace parquet::arrow {
class FileReader;
}

namespace millpond::paimon {

/// The Arrow schema of a data file for `fields`: names, types and PARQUET:field_id metadata.
std::shared_ptr<arrow::Schema> DataFileSchema(const std::vector<DataField>& fields);

struct ParquetWriteOptions {
  std::string compression = "zstd";  // file.compression
  int compression_level = 1;         // file.compression.zstd-level
  int64_t row_group_rows = 1 << 20;
  /// A row group is flushed once this many uncompressed bytes are buffered.
  int64_t row_group_bytes = 64ll << 20;
  /// Top-level columns whose values are (nearly) all distinct, such as sequence numbers and single
  /// primary keys of a sorted run: written without a dictionary (which would only be built and
  /// thrown away), integers delta-encoded.
  std::vector<std::string> distinct_columns;
};

/// Writes one Parquet data file. Usage: Open, Write batches, Finish.
class ParquetDataFileWriter {
 public:
  static Result<std::unique_ptr<ParquetDataFileWriter>> Open(const fs::FileSystem& fs,
                                                             const std::string& path,
                                                             const std::vector<DataField>& fields,
                                                             const ParquetWriteOptions& options);
  ~ParquetDataFileWriter();
  Status Write(const arrow::RecordBatch& batch);
  /// Bytes written so far (flushed row groups plus an estimate of the open one).
  int64_t EstimatedSize() const;
  int64_t row_count() const { return rows_; }
  /// Closes the file; returns its size in bytes.
  Result<int64_t> Finish();

  /// After Finish: per top-level field, the min and max of its non-null values taken from the
  /// Parquet footer's column-chunk statistics (as Paimon's SimpleStatsExtractor does), merged over
  /// row groups and typed as the field's Arrow type. Null scalars where unknown (nested columns,
  /// INT96 timestamps, statistics Parquet did not keep).
  Result<std::vector<std::pair<std::shared_ptr<arrow::Scalar>, std::shared_ptr<arrow::Scalar>>>>
  FooterMinMax() const;

 private:
  ParquetDataFileWriter() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<DataField> fields_;
  int64_t rows_ = 0;
};

/// The leaf column indices of the top-level columns `columns` (names as in the file; names the file
/// lacks are skipped) of an open Parquet file, for GetRecordBatchReader; all leaves when empty.
Result<std::vector<int>> ParquetLeafColumns(parquet::arrow::FileReader& reader,
                                            const std::vector<std::string>& columns);

/// Reads a whole data file (format "parquet", "orc" or "avro") into an Arrow table. `columns`,
/// when not empty, names the columns to read (names as in the file). The error names the path.
/// Parquet INT96 timestamps are read as nanoseconds when `int96_as_nanos`, else as microseconds
/// (which keeps dates outside 1677..2262 in range).
Result<std::shared_ptr<arrow::Table>> ReadDataFile(const fs::FileSystem& fs,
                                                   const std::string& path,
                                                   const std::string& format,
                                                   const std::vector<std::string>& columns,
                                                   bool int96_as_nanos = true);

/// Min/max (null when unknown) of one column within one Parquet row group, typed as the column's
/// Arrow type in the file, with its null and row counts.
struct ColumnRange {
  std::shared_ptr<arrow::Scalar> min;
  std::shared_ptr<arrow::Scalar> max;
  std::optional<int64_t> null_count;
  int64_t row_count = 0;
};
/// Looks up a column's range by its name in the file; nullopt when unknown (nested columns,
/// missing statistics).
using ColumnRangeLookup = std::function<std::optional<ColumnRange>(const std::string& column)>;
/// Decides from a row group's column ranges whether the row group may hold wanted rows.
using RowGroupFilter = std::function<bool(const ColumnRangeLookup& ranges)>;

/// A read that may have skipped row groups: `table` holds the rows of the kept row groups, in file
/// order; kept_ranges[i] = (first row position in the file, row count) of each kept row group.
struct FilteredRead {
  std::shared_ptr<arrow::Table> table;
  std::vector<std::pair<int64_t, int64_t>> kept_ranges;
  int64_t file_rows = 0;  // rows in the whole file
  bool pruned = false;    // some row group was skipped
};

/// ReadDataFile, skipping the Parquet row groups `keep` rejects (ORC and Avro files are read
/// whole). `keep` may be empty: every row group is read.
Result<FilteredRead> ReadDataFileFiltered(const fs::FileSystem& fs, const std::string& path,
                                          const std::string& format,
                                          const std::vector<std::string>& columns,
                                          bool int96_as_nanos, const RowGroupFilter& keep);

/// Format from a data file name's extension (".parquet", ".orc", ".avro"); empty if unknown.
std::string FormatFromFileName(const std::string& name);

}  // namespace millpond::paimon
