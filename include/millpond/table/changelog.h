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

#include <functional>
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

class KeyValueRunReader;  // src/table/kv_merge_stream.h

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

/// `lookup-wait` (fallback `changelog-producer.lookup-wait`; default true): whether a commit of a
/// table that needs lookup waits for its level-0 files to be compacted. With false, the write
/// commits its APPEND alone and the level-0 files (with their changelog) are compacted by a later
/// write of the bucket or by `compact`, as Paimon's writer then commits without waiting for the
/// asynchronous lookup compaction.
bool LookupWait(const paimon::TableSchema& schema);

/// What a compaction needs to produce changelog, and where the changelog files it wrote go.
struct ChangelogOutput {
  /// Every live file of the compacted bucket (the unit's files and those it looks keys up in).
  const std::vector<paimon::ManifestEntry>* bucket_files = nullptr;
  const DeletionVectors* dvs = nullptr;  // may be null
  /// ADD entries of the changelog files written, in the order they are to be read.
  std::vector<paimon::ManifestEntry> files;
  /// Lookup work: Parquet row groups of files above the unit decoded, and skipped by their key
  /// statistics.
  int64_t lookup_row_groups_decoded = 0;
  int64_t lookup_row_groups_skipped = 0;
};

/// ChangelogMergeTreeRewriter.rewriteChangelog: lookup produces changelog when level-0 files are
/// compacted to a level above 0, full-compaction when the output is the max level. First-row
/// tables take the same path as lookup (MergeWithChangelog), writing changelog only with lookup.
Result<bool> ProducesChangelog(const paimon::TableSchema& schema, const CompactUnit& unit);

/// Merges the unit's `runs` (readers of the unit files, in unit order) as
/// MergeKeyValuesForCompaction does, streaming in key windows (kv_merge_stream.h), and writes the
/// changelog of every key the compaction changes (lookup: keys with level-0 records;
/// full-compaction: every key) to changelog files at the output level: +I for a new key, -U/+U for
/// a changed one (none for an identical row with changelog-producer.row-deduplicate), -D for a
/// deleted one. For lookup, a key without a record above level 0 in the unit is looked up in the
/// bucket's files above the output level, lowest level first, as a merge-join that reads those
/// files forward and decodes only the row groups whose key statistics may hold a looked-up key;
/// that record joins the merge. `sink` gets the compaction output rows, window by window in key
/// order. Buffers come from `pool`.
Status MergeWithChangelog(const fs::FileSystem& fs, const std::string& table_path,
                          const paimon::TableSchema& schema,
                          const std::map<int64_t, paimon::TableSchema>& schemas,
                          const CompactUnit& unit,
                          std::vector<std::unique_ptr<KeyValueRunReader>> runs, bool drop_delete,
                          ChangelogOutput* out, std::vector<std::string>* written,
                          arrow::MemoryPool* pool,
                          const std::function<Status(KeyValueRows)>& sink);

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
