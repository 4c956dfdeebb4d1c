// Reading one data file of a table as rows of the table's current schema: columns found by field
// id in the file's own schema (renames, drops and adds), types converted with Paimon's cast rules,
// INT96 timestamps decoded per unit, rows filtered. Shared by batch and streaming scans.
// Thread-safe (pure function of its arguments).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/manifest.h"
#include "millpond/paimon/schema.h"
#include "millpond/table/predicate.h"

namespace millpond::table {

/// The rows of data file `e` (written under `file_schema`) as batches whose columns are
/// `read_fields` (indices into `schema.fields`, all nullable), filtered by `predicate` if given.
Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadMappedFile(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const paimon::TableSchema& file_schema, const std::vector<int>& read_fields,
    const BoundPredicate* predicate, const paimon::ManifestEntry& e);

/// `table` cut into batches of at most `chunk_rows` rows, each filtered by `predicate` if given;
/// batches left empty are dropped.
Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> FilteredBatches(
    const arrow::Table& table, int64_t chunk_rows, const BoundPredicate* predicate);

}  // namespace millpond::table
