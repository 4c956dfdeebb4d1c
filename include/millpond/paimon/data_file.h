// Data files of a Paimon table: Parquet writing (with Paimon's field ids and physical layout:
// small decimals as INT32/INT64, TIMESTAMP(7..9) as INT96) and reading of Parquet, ORC and Avro
// files into Arrow. A writer is single-threaded; the read function is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/types.h"

namespace millpond::paimon {

/// The Arrow schema of a data file for `fields`: names, types and PARQUET:field_id metadata.
std::shared_ptr<arrow::Schema> DataFileSchema(const std::vector<DataField>& fields);

struct ParquetWriteOptions {
  std::string compression = "zstd";  // file.compression
  int compression_level = 1;         // file.compression.zstd-level
  int64_t row_group_rows = 1 << 20;
  /// A row group is flushed once this many uncompressed bytes are buffered.
  int64_t row_group_bytes = 64ll << 20;
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

/// Reads a whole data file (format "parquet", "orc" or "avro") into an Arrow table. `columns`,
/// when not empty, names the columns to read (names as in the file). The error names the path.
/// Parquet INT96 timestamps are read as nanoseconds when `int96_as_nanos`, else as microseconds
/// (which keeps dates outside 1677..2262 in range).
Result<std::shared_ptr<arrow::Table>> ReadDataFile(const fs::FileSystem& fs,
                                                   const std::string& path,
                                                   const std::string& format,
                                                   const std::vector<std::string>& columns,
                                                   bool int96_as_nanos = true);

/// Format from a data file name's extension (".parquet", ".orc", ".avro"); empty if unknown.
std::string FormatFromFileName(const std::string& name);

}  // namespace millpond::paimon
