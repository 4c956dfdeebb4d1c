// Merge-on-read for primary-key tables: the data files of one (partition, bucket) are sorted runs
// of key-value rows (_KEY_* columns, _SEQUENCE_NUMBER, _VALUE_KIND, then every table column);
// they are merged by primary key and sequence and reduced by the table's merge engine
// (deduplicate, partial-update, aggregation, first-row). With deletion vectors, or for first-row
// tables, only files above level 0 are read and their deleted positions dropped, as Paimon's batch
// scan does. Stateless functions; thread-safe. Mirrors Paimon's MergeFileSplitRead,
// SortMergeReader, ReducerMergeFunctionWrapper and the *MergeFunction classes.
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
#include "millpond/table/key_value_writer.h"  // RowKind

namespace millpond::table {

class DeletionVectors;  // src/table/deletion_vector.h
struct BoundPredicate;   // millpond/table/predicate.h

/// Key-value rows of one sorted run (or any set of rows) already in memory: `values` in the
/// layout of the schema being merged (every field of `TableSchema::fields`), with one sequence
/// number and one row kind per row.
struct KeyValueRows {
  std::shared_ptr<arrow::Table> values;
  std::vector<int64_t> sequence_numbers;
  std::vector<RowKind> kinds;
  /// Level of the file the rows came from (0 for rows not read from a file). Tables that need
  /// lookup (changelog.h NeedsLookup) merge a key as its lowest-level record above level 0 plus
  /// its level-0 records, as Paimon's LookupMergeFunction does.
  int32_t level = 0;
};

/// ToArrowSchema(schema.fields) with every field nullable: the layout of merged rows.
std::shared_ptr<arrow::Schema> KeyValueOutputSchema(const paimon::TableSchema& schema);

/// Merges rows by the schema's primary key with its merge engine and options (`merge-engine`,
/// `ignore-delete`, `sequence.field`, `fields.*.sequence-group`, `fields.*.aggregate-function`,
/// `fields.default-aggregate-function`, `fields.*.list-agg-delimiter`,
/// `partial-update.remove-record-on-delete`, `aggregation.remove-record-on-delete`). Rows are
/// ordered by sequence within a key in the order given (later input wins ties). The result holds
/// one row per live key, in key order, in ToArrowSchema(schema.fields) with nullable fields.
Result<std::shared_ptr<arrow::Table>> MergeKeyValues(const paimon::TableSchema& schema,
                                                     const std::vector<KeyValueRows>& runs);

/// Reads one key-value data file of `entry` as rows of `schema` (older files mapped by field id;
/// `schemas` must hold the file's schema id), dropping the positions in `deleted` (may be null).
Result<KeyValueRows> ReadKeyValueRows(const fs::FileSystem& fs, const std::string& table_path,
                                      const paimon::TableSchema& schema,
                                      const std::map<int64_t, paimon::TableSchema>& schemas,
                                      const paimon::ManifestEntry& entry,
                                      const std::vector<uint32_t>* deleted);

/// Merges rows as MergeKeyValues does, for compaction: one row per key in key order, with the
/// key's largest sequence number and kind INSERT for a merged row. A key whose merge leaves no
/// row becomes its newest input row with kind DELETE, or disappears when `drop_delete` (no older
/// data can lie below the output, as MergeTreeCompactRewriter decides).
Result<KeyValueRows> MergeKeyValuesForCompaction(const paimon::TableSchema& schema,
                                                 const std::vector<KeyValueRows>& runs,
                                                 bool drop_delete);
/// As above, allocating the merge's buffers from `pool`.
Result<KeyValueRows> MergeKeyValuesForCompaction(const paimon::TableSchema& schema,
                                                 const std::vector<KeyValueRows>& runs,
                                                 bool drop_delete, arrow::MemoryPool* pool);

/// True when a batch read of this table reads only files above level 0 and does not need to
/// merge them (deletion vectors enabled, or the first-row merge engine).
bool SkipsLevelZero(const paimon::TableSchema& schema);

/// Checks a primary-key table's merge options (merge engine, aggregate functions, sequence groups)
/// and its changelog options (changelog.h), so that a table millpond could not read is refused
/// when it is created or altered.
Status ValidateMergeOptions(const paimon::TableSchema& schema);

/// Reads the merged rows of one bucket of a primary-key table. `bucket_files` are the live files
/// of one (partition, bucket) (ManifestEntry.partition/bucket equal); `schema` is the schema rows
/// are read as (its fields and options; data files written under older schemas are mapped by field
/// id, `schemas` must hold every file's schema id); `dvs` may be null. Output: batches in
/// ToArrowSchema(schema.fields) (every field nullable), one row per key, in key order.
Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadPrimaryKeyBucket(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas,
    const std::vector<paimon::ManifestEntry>& bucket_files, const DeletionVectors* dvs);
/// As above; `key_filter` (may be null) is a predicate on primary-key columns only, bound to
/// ToArrowSchema(schema.fields): files' row groups and rows whose keys miss it are skipped before
/// the merge (every version of a key shares the key, so the merge of the rest is unchanged).
/// Output rows may still include keys the filter rejects; filter them after.
Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadPrimaryKeyBucket(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas,
    const std::vector<paimon::ManifestEntry>& bucket_files, const DeletionVectors* dvs,
    const BoundPredicate* key_filter);

/// Groups live entries by (partition, bucket), keeping their order within a group; groups come
/// in order of first appearance.
std::vector<std::vector<paimon::ManifestEntry>> GroupByBucket(
    const std::vector<paimon::ManifestEntry>& entries);

}  // namespace millpond::table
