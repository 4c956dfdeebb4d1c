// How table scans reach the warehouse's blob store without depending on it: the blob module
// registers a reader here (blob::RegisterTableBlobReader), and scans then resolve BLOB
// descriptors whose uri is "blob:sha256:<hex>", and descriptor BLOB columns that name an id
// column (table option `millpond.blob-id-field.<column>`), by blob id. Without a registered
// reader such values are an error naming the blob. Registration is thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"

namespace millpond::table {

/// Option prefix: `millpond.blob-id-field.<BLOB column>` = the column holding its blob id.
inline constexpr const char* kBlobIdFieldOptionPrefix = "millpond.blob-id-field.";
/// Descriptor uri prefix of a blob addressed by id only (no file Paimon can open).
inline constexpr const char* kBlobIdUriPrefix = "blob:";

/// Reads `length` bytes (-1: to the end) at `offset` of blob `id` ("sha256:<hex>" or bare hex)
/// in the store of the warehouse that holds the table at `table_path` on `fs`.
using StoreBlobReader = std::function<Result<std::shared_ptr<arrow::Buffer>>(
    const std::shared_ptr<fs::FileSystem>& fs, const std::string& table_path,
    const std::string& id, int64_t offset, int64_t length)>;

void SetStoreBlobReader(StoreBlobReader reader);
/// The registered reader, or an empty function.
StoreBlobReader GetStoreBlobReader();

}  // namespace millpond::table
