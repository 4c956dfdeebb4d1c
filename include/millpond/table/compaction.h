// Compaction of primary-key tables: Paimon's universal compaction picks sorted runs of one bucket
// (each level-0 file is a run, each level >= 1 one run), the rewriter merges them with the
// table's merge engine and writes COMPACT files at the output level, and the result commits as a
// COMPACT snapshot of DELETE (inputs) + ADD (outputs) entries, which fails as a conflict rather
// than lose a concurrent change. Stateless functions; thread-safe.
// Mirrors Paimon's UniversalCompaction, CompactStrategy, Levels, MergeTreeCompactManager and
// MergeTreeCompactRewriter.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/manifest.h"
#include "millpond/paimon/schema.h"
#include "millpond/table/merge_read.h"  // KeyValueRows

namespace millpond::table {

class Table;
class KeyValueWriter;
class DeletionVectors;  // src/table/deletion_vector.h
struct ChangelogOutput;  // changelog.h

/// Paimon's compaction options with their defaults.
struct CompactionOptions {
  int num_levels = 6;          // `num-levels`; default num-sorted-run.compaction-trigger + 1
  int trigger = 5;             // `num-sorted-run.compaction-trigger`
  int stop_trigger = 8;        // `num-sorted-run.stop-trigger`; default trigger + 3
  int max_size_amp = 200;      // `compaction.max-size-amplification-percent`
  int size_ratio = 1;          // `compaction.size-ratio`
  int max_level() const { return num_levels - 1; }

  static Result<CompactionOptions> FromSchema(const paimon::TableSchema& schema);
};

/// One sorted run: a level-0 file, or all files of one level >= 1.
struct SortedRun {
  int32_t level = 0;
  std::vector<paimon::ManifestEntry> files;
  int64_t total_size = 0;
};

/// The files of one bucket as Paimon's Levels orders them: level-0 files newest first (by max
/// sequence number), then levels 1.. ascending, skipping empty ones.
std::vector<SortedRun> LevelSortedRuns(const std::vector<paimon::ManifestEntry>& bucket_files);

/// What to compact: the picked runs' files and the level the result goes to.
struct CompactUnit {
  int32_t output_level = 0;
  std::vector<paimon::ManifestEntry> files;
  int runs = 0;
};

/// UniversalCompaction.pick: size amplification, then size ratio, then file count.
std::optional<CompactUnit> PickUniversal(const CompactionOptions& options,
                                         const std::vector<SortedRun>& runs);
/// CompactStrategy.pickFullCompaction: every run to the max level, unless the bucket already is
/// a single run at the max level without deletes.
std::optional<CompactUnit> PickFull(const CompactionOptions& options,
                                    const std::vector<SortedRun>& runs);
/// MergeTreeCompactManager: deletes and retractions may be dropped when no older data can lie
/// below the output level.
bool DropsDelete(const CompactUnit& unit, const std::vector<SortedRun>& runs);

/// Merges `unit.files` of one bucket with the schema's merge engine and writes the result as
/// COMPACT files at `unit.output_level` (file names `data-<uuid>-N.parquet`). `schemas` holds
/// every schema id of the input files; `schema` is the one written. Returns DELETE entries for
/// the inputs followed by ADD entries for the outputs; `written` receives every new path. Input
/// rows deleted in `dvs` (may be null) are skipped. With `changelog` (may be null), a compaction
/// that produces changelog (changelog-producer lookup/full-compaction; see changelog.h) adds its
/// changelog files to `changelog->files`. `lookup_runs` (rows of the unit's keys read from files
/// outside it, with their levels) are merged in when no changelog is produced.
Result<std::vector<paimon::ManifestEntry>> RewriteCompactUnit(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas, const CompactUnit& unit,
    bool drop_delete, std::vector<std::string>* written, const DeletionVectors* dvs = nullptr,
    ChangelogOutput* changelog = nullptr, std::vector<KeyValueRows> lookup_runs = {});

/// Whether the table has `deletion-vectors.enabled`.
bool UsesDeletionVectors(const paimon::TableSchema& schema);
/// The pick for a deletion-vector table: universal, else every level-0 run forced up
/// (Paimon's ForceUpLevel0Compaction).
std::optional<CompactUnit> PickForDeletionVectors(const CompactionOptions& options,
                                                  const std::vector<SortedRun>& runs);

/// Whether millpond can compact this table (with deletion vectors: deduplicate tables without
/// sequence.field only).
Status CheckCompactable(const paimon::TableSchema& schema);

struct CompactSummary {
  int buckets = 0;            // buckets compacted
  int64_t files_before = 0;   // files replaced
  int64_t files_after = 0;    // files written
  int64_t snapshot_id = 0;    // the COMPACT snapshot, or the latest one when nothing was done
};

/// Compacts every bucket of the table's latest snapshot that universal compaction picks (or,
/// with `full`, every bucket not already one run at the max level) and commits a COMPACT
/// snapshot. A conflict (a replaced file was changed concurrently) drops the new files and
/// re-plans, up to `max_attempts` times.
Result<CompactSummary> CompactTable(const Table& table, bool full, int max_attempts = 10);

struct WriteCommitResult {
  int64_t append_snapshot = 0;
  std::optional<int64_t> compact_snapshot;
};

/// Commits a KeyValueWriter's output as Paimon's writers do: the APPEND snapshot (with the input
/// changelog of changelog-producer input), then, when compaction produced anything, a COMPACT
/// snapshot right after it (with the changelog of lookup/full-compaction; full-compaction tables
/// compact fully at every commit, as Paimon's batch writes do). A COMPACT commit that conflicts is
/// dropped (its files deleted; the appended data stays committed). With lookup-wait=false
/// (changelog.h LookupWait), the COMPACT snapshot compacts the level-0 files committed before
/// this write, leaving this write's to a later one.
Result<WriteCommitResult> CommitKeyValueWrite(const Table& table, KeyValueWriter& writer,
                                              bool full_compaction = false);

}  // namespace millpond::table
