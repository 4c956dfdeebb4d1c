// Changelog producers of primary-key tables (Paimon's `changelog-producer`): `input` writes the
// input rows of each flushed write buffer, with their row kinds, as changelog files; `lookup` and
// `full-compaction` derive the changelog while compacting, from each key's state before (its
// highest-level record) and after the merge. Changelog files have the key-value data file layout,
// are named changelog-<uuid>-<n>.parquet in the bucket folder and are committed in the snapshot's
// changelogManifestList. Stateless functions; thread-safe.
// Mirrors Paimon's ChangelogProducer, MergeTreeWriter (INPUT), LookupMergeTreeCompactRewriter with
// LookupChangelogMergeFunctionWrapper (LOOKUP) and FullChangelogMergeTreeCompactRewriter with
// FullChangelogMergeFunctionWrapper (FULL_COMPACTION).
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
#include "millpond/table/compaction.h"
#include "millpond/table/key_value_writer.h"
#include "millpond/table/merge_read.h"

namespace millpond::table {

enum class ChangelogProducer { kNone, kInput, kLookup, kFullCompaction };

inline constexpr const char* kChangelogProducerOption = "changelog-producer";
/// DataFilePathFactory's changelog file prefix (`changelog-file.prefix`).
inline constexpr const char* kChangelogFilePrefix = "changelog-";

/// The table's `changelog-producer` (none when unset).
Result<ChangelogProducer> ChangelogProducerOf(const paimon::TableSchema& schema);

/// Checks the changelog options at create and alter, as Paimon's SchemaValidation does: a known
/// producer, none on tables without primary key, none/lookup for first-row, no full-compaction with
/// deletion vectors, no streaming-read-overwrite with lookup/full-compaction.
Status ValidateChangelogOptions(const paimon::TableSchema& schema);

/// CoreOptions.needLookup: changelog-producer lookup, deletion vectors, first-row or force-lookup.
/// Such tables compact every level-0 file at each commit (ForceUpLevel0Compaction, lookup-wait),
/// and merge a key as its newest record above level 0 plus its level-0 records
/// (LookupMergeFunction), because every record above level 0 already holds the merged state.
bool NeedsLookup(const paimon::TableSchema& schema);

/// What a compaction needs to produce changelog, and where the changelog files it wrote go.
struct ChangelogOutput {
  /// Every live file of the compacted bucket (the unit's files and those it looks keys up in).
  const std::vector<paimon::ManifestEntry>* bucket_files = nullptr;
  const DeletionVectors* dvs = nullptr;  // may be null
  /// ADD entries of the changelog files written, in the order they are to be read.
  std::vector<paimon::ManifestEntry> files;
};

/// ChangelogMergeTreeRewriter.rewriteChangelog: lookup produces changelog when level-0 files are
/// compacted to a level above 0, full-compaction when the output is the max level. First-row
/// tables take the same path as lookup (MergeWithChangelog), writing changelog only with lookup.
Result<bool> ProducesChangelog(const paimon::TableSchema& schema, const CompactUnit& unit);

/// Merges the unit's `runs` (one per unit file, in unit order, `level` set) as
/// MergeKeyValuesForCompaction does, and writes the changelog of every key the compaction changes
/// (lookup: keys with level-0 records; full-compaction: every key) to changelog files at the output
/// level: +I for a new key, -U/+U for a changed one (none for an identical row with
/// changelog-producer.row-deduplicate), -D for a deleted one. For lookup, a key without a record
/// above level 0 in the unit is looked up in the bucket's files above the output level, and that
/// record joins the merge. Returns the rows to write as the compaction output.
Result<KeyValueRows> MergeWithChangelog(const fs::FileSystem& fs, const std::string& table_path,
                                        const paimon::TableSchema& schema,
                                        const std::map<int64_t, paimon::TableSchema>& schemas,
                                        const CompactUnit& unit, std::vector<KeyValueRows> runs,
                                        bool drop_delete, ChangelogOutput* out,
                                        std::vector<std::string>* written);

/// changelog-producer input (MergeTreeWriter.flushWriteBuffer): writes every row of a flushed
/// write buffer (`rows`: table columns, _VALUE_KIND, _SEQUENCE_NUMBER), in key and sequence order
/// (`order`: row indices), as changelog files at `target` (level 0, prefix changelog-<uuid>-).
Status WriteInputChangelog(const fs::FileSystem& fs, const KeyValueFileFormat& format,
                           const KeyValueRunTarget& target,
                           const std::shared_ptr<arrow::RecordBatch>& rows,
                           const std::shared_ptr<arrow::Array>& order,
                           std::vector<paimon::ManifestEntry>* out,
                           std::vector<std::string>* written);

/// KeyValueRows as a run batch for WriteKeyValueRun: table columns, _VALUE_KIND, _SEQUENCE_NUMBER.
Result<std::shared_ptr<arrow::RecordBatch>> KeyValueRunBatch(const KeyValueRows& rows);

/// Deletes the files of changelog entries that were not committed.
void DeleteChangelogFiles(const fs::FileSystem& fs, const std::string& table_path,
                          const paimon::TableSchema& schema,
                          const std::vector<paimon::ManifestEntry>& entries);

}  // namespace millpond::table
