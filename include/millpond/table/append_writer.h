// Writes Arrow record batches into an append table: conforms each batch to the table schema
// (naming the row and column that does not fit), splits rows by partition and bucket, writes
// Parquet data files rolled at `target-file-size` with per-column statistics, and returns the
// manifest entries for FileStoreCommit. Single-threaded. Mirrors Paimon's AppendOnlyWriter.
#pragma once

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

/// Parses Paimon's memory sizes: "256 mb", "128MB", "64kb", "1 gb", "1048576".
Result<int64_t> ParseMemorySize(const std::string& text);

/// Casts and reorders `batch` to the columns of `schema` (by name). Columns the batch lacks become
/// nulls if nullable; unknown columns, values that do not convert and nulls in NOT NULL columns
/// are errors naming the column and the 1-based row (`first_row` is the row number of batch row 0).
Result<std::shared_ptr<arrow::RecordBatch>> ConformToSchema(
    const std::shared_ptr<arrow::RecordBatch>& batch, const paimon::TableSchema& schema,
    int64_t first_row);

class AppendWriter {
 public:
  static Result<std::unique_ptr<AppendWriter>> Make(std::shared_ptr<fs::FileSystem> fs,
                                                    std::string table_path,
                                                    paimon::TableSchema schema,
                                                    int64_t first_sequence_number);
  ~AppendWriter();

  /// Writes a batch (any column order; see ConformToSchema).
  Status Write(const std::shared_ptr<arrow::RecordBatch>& batch);
  /// Closes every open file and returns their ADD entries. The writer can be used again after.
  Result<std::vector<paimon::ManifestEntry>> PrepareCommit();
  /// Deletes every file written and not yet handed out by PrepareCommit.
  void Abort();

  int64_t rows_written() const { return rows_seen_; }

 private:
  struct BucketWriter;
  AppendWriter() = default;
  Result<BucketWriter*> WriterFor(const std::shared_ptr<arrow::RecordBatch>& batch, int64_t row,
                                  int32_t bucket);
  Status WriteToBucket(BucketWriter* w, const std::shared_ptr<arrow::RecordBatch>& part);
  Status RollFile(BucketWriter* w);

  std::shared_ptr<fs::FileSystem> fs_;
  std::string table_path_;
  paimon::TableSchema schema_;
  std::vector<int> partition_columns_;
  std::vector<int> bucket_columns_;
  std::vector<paimon::DataTypePtr> partition_types_;
  std::vector<paimon::DataTypePtr> bucket_types_;
  int32_t num_buckets_ = -1;
  int64_t target_file_size_ = 256ll << 20;
  std::string compression_;
  int compression_level_ = 1;
  int64_t next_sequence_ = 0;
  int64_t rows_seen_ = 0;
  // BLOB columns (data-evolution tables): the columns of the Parquet data file (all but those kept
  // in `.blob` files) and those BLOB columns; descriptor-stored BLOB columns are checked on write.
  std::vector<paimon::DataField> file_fields_;
  std::vector<int> file_columns_;
  std::vector<int> blob_file_fields_;
  std::vector<int> descriptor_fields_;
  bool data_evolution_ = false;
  int64_t blob_target_file_size_ = 0;
  std::map<std::string, std::unique_ptr<BucketWriter>> writers_;  // key: partition row + bucket
  std::vector<paimon::ManifestEntry> finished_;
  std::vector<std::string> written_paths_;
};

}  // namespace millpond::table
