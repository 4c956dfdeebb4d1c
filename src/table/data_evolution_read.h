// Reading data-evolution tables (`data-evolution.enabled`, with row tracking): a file may hold a
// subset of the columns (its _WRITE_COLS) for a range of row ids (_FIRST_ROW_ID, row count), and
// BLOB columns live in `.blob` files beside the data files. Files whose row-id ranges overlap are
// merged column by column: each column comes from the newest file (highest max sequence number)
// that wrote it. Thread-safe (pure functions; the resolver locks itself).
// Mirrors org.apache.paimon.operation.DataEvolutionSplitRead (mergeRangesAndSort,
// splitFieldBunches, createUnionReader).
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
#include "millpond/table/predicate.h"

namespace millpond::table {

class BlobResolver;

/// Groups the files of one table (any partitions and buckets) into merge groups: files of one
/// partition and bucket whose row-id ranges overlap, ordered by row id. Files without a first
/// row id form groups of their own.
std::vector<std::vector<paimon::ManifestEntry>> GroupByRowIdRange(
    const std::vector<paimon::ManifestEntry>& files);

/// The rows of one merge group as batches of `read_fields` (indices into `schema.fields`, all
/// nullable), BLOB columns as their bytes (or as descriptors with `blob-as-descriptor`), filtered
/// by `predicate` if given. `schemas` holds every schema id the files name.
Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadRowIdGroup(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas, const std::vector<int>& read_fields,
    const BoundPredicate* predicate, const std::vector<paimon::ManifestEntry>& group,
    BlobResolver* resolver);

}  // namespace millpond::table
