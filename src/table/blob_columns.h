// BLOB columns of a table (Paimon's BlobType): which fields are stored as serialized
// BlobDescriptors inline in data files (`blob-descriptor-field`) and which as raw values in
// `.blob` files; reading either back as the blob bytes, or as descriptors when the table says
// `blob-as-descriptor`. Thread-safe (a resolver caches file systems under a lock).
// Mirrors org.apache.paimon.types.BlobType.fieldNamesInBlobFile and data.BlobRef.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/blob_format.h"
#include "millpond/paimon/manifest.h"
#include "millpond/paimon/schema.h"

namespace millpond::table {

/// BLOB fields stored as descriptors inline (`blob-descriptor-field`, comma-separated names).
std::set<std::string> DescriptorBlobFields(const paimon::TableSchema& schema);
/// True when field `i` is a BLOB whose values live in `.blob` files.
bool IsBlobFileField(const paimon::TableSchema& schema, int i);
/// The id column named by `millpond.blob-id-field.<field>` for descriptor BLOB field `field`, or
/// -1 (none, or not a column).
int BlobIdFieldIndex(const paimon::TableSchema& schema, const std::string& field);
/// True when any field is BLOB.
bool HasBlobFields(const paimon::TableSchema& schema);
/// `data-evolution.enabled`: files may hold a subset of columns and are merged by row id.
bool IsDataEvolution(const paimon::TableSchema& schema);
/// `row-tracking.enabled`.
bool IsRowTracking(const paimon::TableSchema& schema);
/// True when the manifest entry names a `.blob` data file.
bool IsBlobDataFile(const paimon::ManifestEntry& e);

/// Opens the bytes a descriptor names: local paths ("/x", "file:/x", "file:///x"), on an S3
/// warehouse "s3://bucket/key", and "blob:sha256:<hex>" through the registered store reader
/// (blob_reader.h).
class BlobResolver {
 public:
  BlobResolver(std::shared_ptr<fs::FileSystem> table_fs, std::string table_path)
      : fs_(std::move(table_fs)), table_path_(std::move(table_path)) {}

  /// The `length` bytes at `offset` of the descriptor's file; the error names the uri.
  Result<std::shared_ptr<arrow::Buffer>> Fetch(const paimon::BlobDescriptor& d);
  /// A column of serialized descriptors (binary) as a column of the bytes they name; nulls stay
  /// null, a value that is no descriptor is an error naming `what` and the row.
  Result<std::shared_ptr<arrow::ChunkedArray>> ResolveColumn(const arrow::ChunkedArray& descriptors,
                                                            const std::string& what);
  /// Like ResolveColumn, but rows with a blob id in `ids` (strings) are read from the store by
  /// id, which stays right when the store moves the bytes the descriptor points at. Needs a
  /// registered store reader.
  Result<std::shared_ptr<arrow::ChunkedArray>> ResolveColumnById(
      const arrow::ChunkedArray& descriptors, const arrow::ChunkedArray& ids,
      const std::string& what);
  /// Reads one blob from the store by id.
  Result<std::shared_ptr<arrow::Buffer>> FetchById(const std::string& id, int64_t offset,
                                                   int64_t length);

 private:
  Result<std::pair<fs::FileSystem*, std::string>> Locate(const std::string& uri);

  std::shared_ptr<fs::FileSystem> fs_;
  std::string table_path_;
  std::mutex mu_;
  std::shared_ptr<fs::FileSystem> local_;
};

/// Validates a new table's BLOB columns as Paimon's SchemaValidation does and turns on what they
/// need: `row-tracking.enabled` and `data-evolution.enabled` (set unless given as false, which
/// is an error), bucket -1, no primary key, no BLOB partition key, at least one other column, and
/// `blob-descriptor-field` naming BLOB columns only. Tables without BLOB columns are unchanged.
Status PrepareBlobTableSchema(paimon::TableSchema* schema);

/// Checks that every non-null value of descriptor BLOB column `i` of `batch` is a serialized
/// BlobDescriptor; the error names the column and the 1-based row (`first_row` for row 0).
Status CheckDescriptorColumn(const arrow::RecordBatch& batch, int i, const std::string& name,
                             int64_t first_row);

/// Writes the `.blob` files of one bucket's BLOB columns that live in blob files, beside one data
/// file: "<base>N.blob" with N counting up from 1, each rolled at `target_file_size`.
/// Single-threaded.
class BlobFileSetWriter {
 public:
  BlobFileSetWriter(const fs::FileSystem* fs, std::string dir, std::string base,
                    const paimon::TableSchema* schema, std::vector<int> fields,
                    int64_t target_file_size)
      : fs_(fs), dir_(std::move(dir)), base_(std::move(base)), schema_(schema),
        fields_(std::move(fields)), target_(target_file_size), open_(fields_.size()) {}
  ~BlobFileSetWriter();

  /// Appends the rows of `batch` (all columns of the table schema) to each field's blob file.
  Status Write(const arrow::RecordBatch& batch);
  /// Closes every file; returns one data-file meta per blob file (name, size, rows, _WRITE_COLS,
  /// empty statistics), each field's files in order.
  Result<std::vector<paimon::DataFileMeta>> Finish();
  /// Every file created so far (for aborts).
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  struct Open {
    std::unique_ptr<paimon::BlobFileWriter> writer;
    std::string name;
  };
  Status Roll(size_t k);

  const fs::FileSystem* fs_;
  std::string dir_;
  std::string base_;
  const paimon::TableSchema* schema_;
  std::vector<int> fields_;
  int64_t target_;
  std::vector<Open> open_;
  int next_number_ = 1;
  std::vector<std::pair<size_t, paimon::DataFileMeta>> done_;
  std::vector<std::string> paths_;
};

/// The values of `.blob` files, concatenated in order: the bytes, or with `as_descriptor` the
/// serialized descriptors (file path, offset, length) Paimon's blob-as-descriptor returns.
Result<std::shared_ptr<arrow::ChunkedArray>> ReadBlobFiles(const fs::FileSystem& fs,
                                                           const std::vector<std::string>& paths,
                                                           const std::vector<int64_t>& sizes,
                                                           bool as_descriptor);

}  // namespace millpond::table
