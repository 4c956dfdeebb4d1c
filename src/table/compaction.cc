// Compaction: universal picking over one bucket's sorted runs, the merging rewriter, and the
// COMPACT commits of CompactTable and CommitKeyValueWrite.
#include "millpond/table/compaction.h"

#include <algorithm>
#include <set>

#include <arrow/array.h>
#include <arrow/compute/api_vector.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>

#include "deletion_vector.h"
#include "kv_merge_stream.h"
#include "millpond/paimon/binary_row.h"
#include "millpond/table/catalog.h"
#include "millpond/table/changelog.h"
#include "millpond/table/key_value_writer.h"
#include "millpond/table/manifest_io.h"
#include "millpond/table/merge_read.h"

namespace millpond::table {

namespace {

Result<int> IntOption(const paimon::TableSchema& schema, const std::string& key, int fallback) {
  std::string v = schema.Option(key, "");
  if (v.empty()) return fallback;
  if (v.size() > 9 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::Invalid("option ", key, " must be a non-negative integer, not '", v, "'");
  }
  return std::stoi(v);
}

Status DeletePaths(const fs::FileSystem& fs, const std::vector<std::string>& paths) {
  for (const auto& p : paths) (void)fs.DeleteFile(p);
  return Status::OK();
}

}  // namespace

Result<CompactionOptions> CompactionOptions::FromSchema(const paimon::TableSchema& schema) {
  CompactionOptions o;
  ARROW_ASSIGN_OR_RAISE(o.trigger, IntOption(schema, "num-sorted-run.compaction-trigger", 5));
  ARROW_ASSIGN_OR_RAISE(o.stop_trigger,
                        IntOption(schema, "num-sorted-run.stop-trigger", o.trigger + 3));
  // MergeTreeOptions: the stop trigger is never below the compaction trigger.
  o.stop_trigger = std::max(o.stop_trigger, o.trigger);
  ARROW_ASSIGN_OR_RAISE(o.num_levels, IntOption(schema, "num-levels", o.trigger + 1));
  if (o.num_levels < 2) return Status::Invalid("num-levels must be at least 2");
  ARROW_ASSIGN_OR_RAISE(o.max_size_amp,
                        IntOption(schema, "compaction.max-size-amplification-percent", 200));
  ARROW_ASSIGN_OR_RAISE(o.size_ratio, IntOption(schema, "compaction.size-ratio", 1));
  if (o.trigger < 1) return Status::Invalid("num-sorted-run.compaction-trigger must be >= 1");
  return o;
}

std::vector<SortedRun> LevelSortedRuns(const std::vector<paimon::ManifestEntry>& bucket_files) {
  std::vector<const paimon::ManifestEntry*> level0;
  std::map<int32_t, SortedRun> upper;
  for (const auto& e : bucket_files) {
    if (e.kind != paimon::FileKind::kAdd) continue;
    if (e.file.level == 0) {
      level0.push_back(&e);
    } else {
      auto& run = upper[e.file.level];
      run.level = e.file.level;
      run.files.push_back(e);
      run.total_size += e.file.file_size;
    }
  }
  // Levels' level-0 order: newest (largest max sequence number) first.
  std::sort(level0.begin(), level0.end(), [](const auto* a, const auto* b) {
    if (a->file.max_sequence_number != b->file.max_sequence_number) {
      return a->file.max_sequence_number > b->file.max_sequence_number;
    }
    if (a->file.min_sequence_number != b->file.min_sequence_number) {
      return a->file.min_sequence_number < b->file.min_sequence_number;
    }
    return a->file.file_name < b->file.file_name;
  });
  std::vector<SortedRun> runs;
  for (const auto* e : level0) {
    SortedRun run;
    run.files.push_back(*e);
    run.total_size = e->file.file_size;
    runs.push_back(std::move(run));
  }
  for (auto& [level, run] : upper) runs.push_back(std::move(run));
  return runs;
}

namespace {

CompactUnit UnitOf(int32_t output_level, const std::vector<SortedRun>& runs, size_t count) {
  CompactUnit unit;
  unit.output_level = output_level;
  unit.runs = static_cast<int>(count);
  for (size_t i = 0; i < count; ++i) {
    unit.files.insert(unit.files.end(), runs[i].files.begin(), runs[i].files.end());
  }
  return unit;
}

// UniversalCompaction.createUnit: the output goes just above the first run not picked, never to
// level 0; when every run is picked, to the max level.
CompactUnit CreateUnit(const std::vector<SortedRun>& runs, int32_t max_level, size_t count) {
  int32_t output_level =
      count == runs.size() ? max_level : std::max(0, runs[count].level - 1);
  if (output_level == 0) {
    for (size_t i = count; i < runs.size(); ++i) {
      ++count;
      if (runs[i].level != 0) {
        output_level = runs[i].level;
        break;
      }
    }
  }
  if (count == runs.size()) output_level = max_level;
  return UnitOf(output_level, runs, count);
}

std::optional<CompactUnit> PickForSizeRatio(const CompactionOptions& o,
                                            const std::vector<SortedRun>& runs, size_t count,
                                            bool force) {
  int64_t candidate = 0;
  for (size_t i = 0; i < count; ++i) candidate += runs[i].total_size;
  bool triggered = force || count > 1;
  for (size_t i = count; i < runs.size(); ++i) {
    const auto& next = runs[i];
    if (static_cast<double>(candidate) * (100.0 + o.size_ratio) / 100.0 <
        static_cast<double>(next.total_size)) {
      // Once triggered, runs at levels 0 and 1 are still taken along.
      if (!triggered || next.level > 1) break;
    }
    candidate += next.total_size;
    ++count;
    triggered = true;
  }
  if (!triggered) return std::nullopt;
  return CreateUnit(runs, o.max_level(), count);
}

}  // namespace

std::optional<CompactUnit> PickUniversal(const CompactionOptions& o,
                                         const std::vector<SortedRun>& runs) {
  const size_t n = runs.size();
  if (n < static_cast<size_t>(o.trigger) || n == 0) return std::nullopt;
  // 1. size amplification: all runs but the oldest against the oldest.
  int64_t candidate = 0;
  for (size_t i = 0; i + 1 < n; ++i) candidate += runs[i].total_size;
  if (candidate * 100 > static_cast<int64_t>(o.max_size_amp) * runs.back().total_size) {
    return UnitOf(o.max_level(), runs, n);
  }
  // 2. size ratio.
  if (auto unit = PickForSizeRatio(o, runs, 1, false)) return unit;
  // 3. number of runs.
  if (n > static_cast<size_t>(o.trigger)) {
    return PickForSizeRatio(o, runs, n - o.trigger + 1, false);
  }
  return std::nullopt;
}

std::optional<CompactUnit> PickFull(const CompactionOptions& o,
                                    const std::vector<SortedRun>& runs) {
  if (runs.empty()) return std::nullopt;
  if (runs.size() == 1 && runs[0].level == o.max_level()) {
    bool deletes = false;
    for (const auto& e : runs[0].files) deletes = deletes || e.file.delete_row_count.value_or(0) > 0;
    if (!deletes) return std::nullopt;
  }
  return UnitOf(o.max_level(), runs, runs.size());
}

bool DropsDelete(const CompactUnit& unit, const std::vector<SortedRun>& runs) {
  int32_t highest = -1;
  for (const auto& r : runs) highest = std::max(highest, r.level);
  return unit.output_level != 0 && unit.output_level >= highest;
}

bool UsesDeletionVectors(const paimon::TableSchema& schema) {
  return schema.Option("deletion-vectors.enabled", "false") == "true";
}

std::optional<CompactUnit> PickForDeletionVectors(const CompactionOptions& o,
                                                  const std::vector<SortedRun>& runs) {
  if (auto unit = PickUniversal(o, runs)) return unit;
  // ForceUpLevel0Compaction: readers of deletion-vector tables skip level 0, so every level-0
  // run is compacted up (with the runs the size ratio takes along).
  size_t level0 = 0;
  while (level0 < runs.size() && runs[level0].level == 0) ++level0;
  if (level0 == 0) return std::nullopt;
  return PickForSizeRatio(o, runs, level0, /*force=*/true);
}

Status CheckCompactable(const paimon::TableSchema& schema) {
  if (schema.primary_keys.empty()) {
    return Status::NotImplemented("compaction of append tables is not supported");
  }
  if (UsesDeletionVectors(schema)) {
    if (schema.Option("index-file-in-data-file-dir", "false") == "true") {
      return Status::NotImplemented("index-file-in-data-file-dir=true is not supported");
    }
  }
  return Status::OK();
}

Result<std::vector<paimon::ManifestEntry>> RewriteCompactUnit(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas, const CompactUnit& unit,
    bool drop_delete, std::vector<std::string>* written, const DeletionVectors* dvs,
    ChangelogOutput* changelog, std::vector<KeyValueRows> lookup_runs) {
  std::vector<paimon::ManifestEntry> out;
  if (unit.files.empty()) return out;
  auto deleted_of = [&](const paimon::ManifestEntry& e) -> const std::vector<uint32_t>* {
    return dvs ? dvs->Find(e.partition, e.bucket, e.file.file_name) : nullptr;
  };
  bool with_changelog = false;
  if (changelog) {
    ARROW_ASSIGN_OR_RAISE(with_changelog, ProducesChangelog(schema, unit));
  }
  ARROW_ASSIGN_OR_RAISE(auto format, KeyValueFileFormat::Make(schema));
  const auto& first = unit.files.front();
  KeyValueRunTarget target;
  target.partition = first.partition;
  target.bucket = first.bucket;
  ARROW_ASSIGN_OR_RAISE(target.dir, BucketPath(table_path, schema, first.partition, first.bucket));
  target.file_prefix = "data-" + NewUuid() + "-";
  int64_t counter = 0;
  target.file_counter = &counter;
  target.level = unit.output_level;
  target.file_source = paimon::FileSource::kCompact;
  std::vector<paimon::ManifestEntry> added;

  arrow::MemoryPool* pool = arrow::default_memory_pool();
  if (with_changelog) {
    // The changelog merge compares each key's state before and after, one key window at a time.
    std::vector<std::unique_ptr<KeyValueRunReader>> readers;
    for (const auto& e : unit.files) {
      ARROW_ASSIGN_OR_RAISE(auto reader, OpenKeyValueFileReader(fs, table_path, schema, schemas, e,
                                                                deleted_of(e), pool));
      readers.push_back(std::move(reader));
    }
    KeyValueRunWriter writer(fs, format, target, &added, written);
    ARROW_RETURN_NOT_OK(MergeWithChangelog(
        fs, table_path, schema, schemas, unit, std::move(readers), drop_delete, changelog, written,
        pool, [&](KeyValueRows merged) -> Status {
          ARROW_ASSIGN_OR_RAISE(auto batch, KeyValueRunBatch(merged));
          return writer.Write(batch);
        }));
    ARROW_RETURN_NOT_OK(writer.Finish());
  } else {
    // A streaming merge: each input file is read a batch at a time and the merged rows are
    // written as they come, so memory does not grow with the unit. Older records of the unit's
    // keys from outside it (deletion-vector compaction) are merged in, so the output holds each
    // key's whole state and the old records can be marked deleted.
    std::vector<std::unique_ptr<KeyValueRunReader>> readers;
    for (const auto& e : unit.files) {
      ARROW_ASSIGN_OR_RAISE(auto reader, OpenKeyValueFileReader(fs, table_path, schema, schemas, e,
                                                                deleted_of(e), pool));
      readers.push_back(std::move(reader));
    }
    for (auto& r : lookup_runs) readers.push_back(InMemoryRunReader(std::move(r), 8 * 1024));
    KeyValueRunWriter writer(fs, format, target, &added, written);
    ARROW_RETURN_NOT_OK(MergeKeyValueRunsStreaming(
        schema, std::move(readers), drop_delete, pool, [&](KeyValueRows merged) -> Status {
          ARROW_ASSIGN_OR_RAISE(auto batch, KeyValueRunBatch(merged));
          return writer.Write(batch);
        }));
    ARROW_RETURN_NOT_OK(writer.Finish());
  }
  for (const auto& e : unit.files) {
    auto d = e;
    d.kind = paimon::FileKind::kDelete;
    out.push_back(std::move(d));
  }
  out.insert(out.end(), added.begin(), added.end());
  return out;
}

namespace {

Result<std::map<int64_t, paimon::TableSchema>> AllSchemas(const SchemaManager& manager) {
  std::map<int64_t, paimon::TableSchema> out;
  ARROW_ASSIGN_OR_RAISE(auto ids, manager.ListIds());
  for (int64_t id : ids) {
    ARROW_ASSIGN_OR_RAISE(out[id], manager.Read(id));
  }
  return out;
}

}  // namespace

namespace {

// One bucket's compaction of a deletion-vector table (Paimon's LookupMergeTreeCompactRewriter
// with a deletion-vector maintainer, for deduplicate): the picked runs are merged with deletes
// dropped, and every row of an older file whose key the picked runs touched is marked deleted
// in that file's vector. The bucket's vectors are rewritten as one new index file.
struct DvBucketCompaction {
  std::vector<paimon::ManifestEntry> entries;  // DELETE inputs, ADD outputs
  std::string partition;
  int32_t bucket = 0;
  std::vector<std::string> planned_index_files;  // the bucket's DV index files planned on
  std::optional<IndexManifestEntry> new_index;
  std::vector<paimon::ManifestEntry> changelog;  // changelog-producer lookup
};

Result<std::string> KeyOf(const std::vector<std::shared_ptr<arrow::Array>>& key_columns,
                          const std::vector<paimon::DataTypePtr>& key_types, int64_t row) {
  std::vector<std::shared_ptr<arrow::Scalar>> values;
  for (const auto& c : key_columns) {
    ARROW_ASSIGN_OR_RAISE(auto v, c->GetScalar(row));
    values.push_back(std::move(v));
  }
  return paimon::SerializeBinaryRow(values, key_types);
}

Result<std::vector<std::string>> KeysOf(const KeyValueRows& rows, const KeyValueFileFormat& f) {
  ARROW_ASSIGN_OR_RAISE(auto t, rows.values->CombineChunks());
  std::vector<std::shared_ptr<arrow::Array>> cols;
  for (int c : f.key_columns) cols.push_back(t->column(c)->chunk(0));
  std::vector<std::string> out;
  for (int64_t r = 0; r < t->num_rows(); ++r) {
    ARROW_ASSIGN_OR_RAISE(auto k, KeyOf(cols, f.key_types, r));
    out.push_back(std::move(k));
  }
  return out;
}

std::vector<std::string> DvIndexFiles(const std::vector<IndexManifestEntry>& live,
                                      const std::string& partition, int32_t bucket) {
  std::vector<std::string> out;
  for (const auto& e : live) {
    if (e.index_type == kDeletionVectorsIndex && e.partition == partition && e.bucket == bucket) {
      out.push_back(e.file_name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::optional<DvBucketCompaction>> CompactDvBucket(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas, const CompactionOptions& options,
    const std::vector<paimon::ManifestEntry>& group, const DeletionVectors& dvs,
    const std::vector<IndexManifestEntry>& live_index, bool full,
    std::vector<std::string>* written) {
  auto runs = LevelSortedRuns(group);
  auto unit = full ? PickFull(options, runs) : PickForDeletionVectors(options, runs);
  if (!unit && full) {
    bool has_dv = false;
    for (const auto& e : group) {
      has_dv = has_dv || dvs.Find(e.partition, e.bucket, e.file.file_name) != nullptr;
    }
    if (has_dv) unit = UnitOf(options.max_level(), runs, runs.size());
  }
  if (!unit) return std::nullopt;
  DvBucketCompaction out;
  out.partition = group.front().partition;
  out.bucket = group.front().bucket;
  out.planned_index_files = DvIndexFiles(live_index, out.partition, out.bucket);
  ARROW_ASSIGN_OR_RAISE(auto format, KeyValueFileFormat::Make(schema));
  std::set<std::string> in_unit, touched;
  for (const auto& e : unit->files) {
    in_unit.insert(e.file.file_name);
    ARROW_ASSIGN_OR_RAISE(
        auto rows, ReadKeyValueRows(fs, table_path, schema, schemas, e,
                                    dvs.Find(e.partition, e.bucket, e.file.file_name)));
    ARROW_ASSIGN_OR_RAISE(auto keys, KeysOf(rows, format));
    touched.insert(keys.begin(), keys.end());
  }
  // Every row of a file outside the unit whose key the unit touches is marked deleted; its live
  // version is merged into the output (LookupMergeTreeCompactRewriter: partial-update,
  // aggregation, first-row and sequence.field need the old state; deduplicate's newest wins).
  ChangelogOutput changelog;
  changelog.bucket_files = &group;
  changelog.dvs = &dvs;
  ARROW_ASSIGN_OR_RAISE(bool with_changelog, ProducesChangelog(schema, *unit));
  std::vector<KeyValueRows> lookup_runs;
  std::vector<std::pair<std::string, std::vector<uint32_t>>> vectors;
  for (const auto& e : group) {
    if (in_unit.count(e.file.file_name)) continue;
    std::set<uint32_t> positions;
    const std::vector<uint32_t>* old = dvs.Find(e.partition, e.bucket, e.file.file_name);
    if (old) positions.insert(old->begin(), old->end());
    ARROW_ASSIGN_OR_RAISE(auto rows, ReadKeyValueRows(fs, table_path, schema, schemas, e, nullptr));
    ARROW_ASSIGN_OR_RAISE(auto keys, KeysOf(rows, format));
    arrow::BooleanBuilder live_touched;
    ARROW_RETURN_NOT_OK(live_touched.Reserve(static_cast<int64_t>(keys.size())));
    std::vector<int64_t> seqs;
    std::vector<RowKind> kinds;
    for (size_t r = 0; r < keys.size(); ++r) {
      const bool hit = touched.count(keys[r]) > 0;
      const bool was_live = positions.count(static_cast<uint32_t>(r)) == 0;
      live_touched.UnsafeAppend(hit && was_live);
      if (hit && was_live) {
        seqs.push_back(rows.sequence_numbers[r]);
        kinds.push_back(rows.kinds[r]);
      }
      if (hit) positions.insert(static_cast<uint32_t>(r));
    }
    if (!with_changelog && !seqs.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto mask, live_touched.Finish());
      ARROW_ASSIGN_OR_RAISE(auto picked, arrow::compute::Filter(rows.values, mask));
      KeyValueRows lookup;
      lookup.values = picked.table();
      lookup.sequence_numbers = std::move(seqs);
      lookup.kinds = std::move(kinds);
      lookup.level = e.file.level;
      lookup_runs.push_back(std::move(lookup));
    }
    if (!positions.empty()) {
      vectors.emplace_back(e.file.file_name,
                           std::vector<uint32_t>(positions.begin(), positions.end()));
    }
  }
  ARROW_ASSIGN_OR_RAISE(out.entries,
                        RewriteCompactUnit(fs, table_path, schema, schemas, *unit,
                                           /*drop_delete=*/true, written, &dvs, &changelog,
                                           std::move(lookup_runs)));
  out.changelog = std::move(changelog.files);
  if (!vectors.empty()) {
    IndexManifestEntry index;
    index.kind = 0;
    index.partition = out.partition;
    index.bucket = out.bucket;
    index.index_type = std::string(kDeletionVectorsIndex);
    index.file_name = "index-" + NewUuid() + "-0";
    std::string bytes = EncodeDeletionVectorIndexFile(vectors, &index.dv_ranges);
    index.file_size = static_cast<int64_t>(bytes.size());
    index.row_count = static_cast<int64_t>(vectors.size());
    std::string path = fs::JoinPath(fs::JoinPath(table_path, "index"), index.file_name);
    ARROW_RETURN_NOT_OK(fs.MakeDirs(fs::JoinPath(table_path, "index")));
    written->push_back(path);
    ARROW_RETURN_NOT_OK(fs.WriteFile(path, bytes));
    out.new_index = std::move(index);
  }
  return out;
}

// The index manifest of a commit that replaces the vectors of `buckets`, on top of `latest`.
Result<std::optional<std::string>> WriteIndexManifest(
    const fs::FileSystem& fs, const std::string& table_path, paimon::AvroCodec codec,
    const std::vector<DvBucketCompaction>& buckets, const paimon::Snapshot* latest) {
  std::vector<IndexManifestEntry> live;
  if (latest) {
    ARROW_ASSIGN_OR_RAISE(live, ReadLiveIndexEntries(fs, table_path, *latest));
  }
  std::vector<IndexManifestEntry> out;
  for (auto& e : live) {
    bool replaced = false;
    for (const auto& b : buckets) {
      replaced = replaced || (e.index_type == kDeletionVectorsIndex &&
                              e.partition == b.partition && e.bucket == b.bucket);
    }
    if (!replaced) out.push_back(std::move(e));
  }
  for (const auto& b : buckets) {
    if (DvIndexFiles(live, b.partition, b.bucket) != b.planned_index_files) {
      return Status::Cancelled("commit conflict on ", table_path, ": the deletion vectors of bucket ",
                               b.bucket, " changed concurrently");
    }
    if (b.new_index) out.push_back(*b.new_index);
  }
  if (out.empty()) return std::optional<std::string>();
  ARROW_ASSIGN_OR_RAISE(std::string bytes, EncodeIndexManifest(out, codec));
  std::string name = "index-manifest-" + NewUuid() + "-0";
  ARROW_RETURN_NOT_OK(fs.WriteFile(fs::JoinPath(fs::JoinPath(table_path, "manifest"), name), bytes));
  return std::optional<std::string>(name);
}

}  // namespace

namespace {

// CompactTable over the live files less those named in `exclude` (lookup-wait=false: the files of
// the write just committed, which wait for a later compaction).
Result<CompactSummary> CompactTableImpl(const Table& table, bool full, int max_attempts,
                                        const std::set<std::string>& exclude);

// The compaction of lookup-wait=false writes (CommitKeyValueWrite).
Result<CompactSummary> CompactTableExcept(const Table& table,
                                          const std::set<std::string>& exclude) {
  return CompactTableImpl(table, /*full=*/false, /*max_attempts=*/1, exclude);
}

}  // namespace

Result<CompactSummary> CompactTable(const Table& table, bool full, int max_attempts) {
  return CompactTableImpl(table, full, max_attempts, {});
}

namespace {

Result<CompactSummary> CompactTableImpl(const Table& table, bool full, int max_attempts,
                                        const std::set<std::string>& exclude) {
  ARROW_ASSIGN_OR_RAISE(auto schema, table.LatestSchema());
  ARROW_RETURN_NOT_OK(CheckCompactable(schema));
  ARROW_ASSIGN_OR_RAISE(auto options, CompactionOptions::FromSchema(schema));
  ARROW_ASSIGN_OR_RAISE(auto schemas, AllSchemas(table.schemas()));
  ARROW_ASSIGN_OR_RAISE(auto codec,
                        paimon::AvroCodecFromName(schema.Option("manifest.compression", "zstd")));
  ManifestIO manifests(table.file_system(), table.path(), codec, PartitionTypes(schema));
  const auto& fs = *table.file_system();
  Status last_conflict;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    CompactSummary summary;
    ARROW_ASSIGN_OR_RAISE(auto latest, table.snapshots().LatestSnapshotId());
    if (!latest) return summary;
    summary.snapshot_id = *latest;
    ARROW_ASSIGN_OR_RAISE(auto snap, table.snapshots().ReadSnapshot(*latest));
    ARROW_ASSIGN_OR_RAISE(auto live, manifests.LiveEntries(snap));
    if (!exclude.empty()) {
      live.erase(std::remove_if(live.begin(), live.end(),
                                [&](const paimon::ManifestEntry& e) {
                                  return exclude.count(e.file.file_name) > 0;
                                }),
                 live.end());
    }
    std::vector<paimon::ManifestEntry> entries;
    std::vector<std::string> written;
    CommitOptions commit;
    commit.commit_kind = "COMPACT";
    std::vector<DvBucketCompaction> dv_buckets;
    if (UsesDeletionVectors(schema)) {
      ARROW_ASSIGN_OR_RAISE(auto dvs, DeletionVectors::Load(fs, table.path(), schema, snap));
      ARROW_ASSIGN_OR_RAISE(auto live_index, ReadLiveIndexEntries(fs, table.path(), snap));
      for (const auto& group : GroupByBucket(live)) {
        auto done = CompactDvBucket(fs, table.path(), schema, schemas, options, group, *dvs,
                                    live_index, full, &written);
        if (!done.ok()) {
          ARROW_RETURN_NOT_OK(DeletePaths(fs, written));
          return done.status();
        }
        if (!*done) continue;
        ++summary.buckets;
        for (const auto& e : (*done)->entries) {
          (e.kind == paimon::FileKind::kAdd ? summary.files_after : summary.files_before)++;
        }
        entries.insert(entries.end(), (*done)->entries.begin(), (*done)->entries.end());
        commit.changelog.insert(commit.changelog.end(), (*done)->changelog.begin(),
                                (*done)->changelog.end());
        dv_buckets.push_back(std::move(**done));
      }
      std::string table_path = table.path();
      auto fs_ptr = table.file_system();
      commit.index_manifest = [fs_ptr, table_path, codec, &dv_buckets](
                                  const paimon::Snapshot* latest)
          -> Result<std::optional<std::string>> {
        return WriteIndexManifest(*fs_ptr, table_path, codec, dv_buckets, latest);
      };
    }
    for (const auto& group : GroupByBucket(live)) {
      if (UsesDeletionVectors(schema)) break;
      auto runs = LevelSortedRuns(group);
      // Tables that need lookup compact every level-0 file up (ForceUpLevel0Compaction).
      auto unit = full                ? PickFull(options, runs)
                  : NeedsLookup(schema) ? PickForDeletionVectors(options, runs)
                                        : PickUniversal(options, runs);
      if (!unit) continue;
      ChangelogOutput changelog;
      changelog.bucket_files = &group;
      auto rewritten = RewriteCompactUnit(fs, table.path(), schema, schemas, *unit,
                                          DropsDelete(*unit, runs), &written, nullptr, &changelog);
      if (!rewritten.ok()) {
        ARROW_RETURN_NOT_OK(DeletePaths(fs, written));
        return rewritten.status();
      }
      ++summary.buckets;
      for (const auto& e : *rewritten) {
        (e.kind == paimon::FileKind::kAdd ? summary.files_after : summary.files_before)++;
      }
      entries.insert(entries.end(), rewritten->begin(), rewritten->end());
      commit.changelog.insert(commit.changelog.end(), changelog.files.begin(),
                              changelog.files.end());
    }
    if (entries.empty()) return summary;
    auto id = table.Commit(entries, commit);
    if (id.ok()) {
      summary.snapshot_id = *id;
      return summary;
    }
    ARROW_RETURN_NOT_OK(DeletePaths(fs, written));
    if (!id.status().IsCancelled()) return id.status();
    last_conflict = id.status();  // a replaced file changed concurrently: plan again
  }
  return Status::Cancelled("compaction of ", table.name(), " gave up after ", max_attempts,
                           " conflicting attempts: ", last_conflict.message());
}

}  // namespace

Result<WriteCommitResult> CommitKeyValueWrite(const Table& table, KeyValueWriter& writer,
                                              bool full_compaction) {
  WriteCommitResult result;
  CommitOptions append;
  auto entries = writer.PrepareCommit(&append.changelog);
  if (!entries.ok()) {
    writer.Abort();
    return entries.status();
  }
  auto appended = table.Commit(*entries, append);
  if (!appended.ok()) {
    writer.Abort();
    return appended.status();
  }
  result.append_snapshot = *appended;
  ARROW_ASSIGN_OR_RAISE(auto schema, table.LatestSchema());
  ARROW_ASSIGN_OR_RAISE(auto producer, ChangelogProducerOf(schema));
  // Paimon's batch writes of full-compaction tables compact fully at each commit.
  full_compaction = full_compaction || producer == ChangelogProducer::kFullCompaction;
  // lookup-wait=false (Paimon's writer commits without waiting for the asynchronous lookup
  // compaction, whose result lands in the next commit): after the APPEND, the level-0 files
  // committed before this write are compacted up; this write's own wait for a later one.
  if (!full_compaction && NeedsLookup(schema) && !LookupWait(schema)) {
    std::set<std::string> fresh;
    for (const auto& e : *entries) {
      if (e.kind == paimon::FileKind::kAdd) fresh.insert(e.file.file_name);
    }
    if (!UsesDeletionVectors(schema)) {
      // Compactions the writer already made (a stalled write) are committed as they are.
      CommitOptions options;
      options.commit_kind = "COMPACT";
      auto done = writer.PrepareCompaction(false, &options.changelog, /*compact_now=*/false);
      if (!done.ok()) {
        writer.Abort();
        return done.status();
      }
      if (!done->empty() || !options.changelog.empty()) {
        auto compacted = table.Commit(*done, options);
        if (!compacted.ok()) {
          DeleteChangelogFiles(*table.file_system(), table.path(), schema, options.changelog);
          ARROW_RETURN_NOT_OK(writer.AbortCompaction(*done));
          if (compacted.status().IsCancelled()) return result;
          return compacted.status();
        }
        result.compact_snapshot = *compacted;
        for (const auto& e : *done) fresh.insert(e.file.file_name);  // this write's outputs
      }
    }
    auto summary = CompactTableExcept(table, fresh);
    if (!summary.ok()) {
      // The appended data is committed; a conflicting compaction is left to a later one.
      if (summary.status().IsCancelled()) return result;
      return summary.status();
    }
    if (summary->buckets > 0) result.compact_snapshot = summary->snapshot_id;
    return result;
  }
  if (UsesDeletionVectors(schema)) {
    // Level-0 files stay invisible to readers until compacted: compact right away.
    ARROW_ASSIGN_OR_RAISE(auto summary, CompactTable(table, full_compaction));
    if (summary.buckets > 0) result.compact_snapshot = summary.snapshot_id;
    return result;
  }
  CommitOptions options;
  options.commit_kind = "COMPACT";
  auto compact = writer.PrepareCompaction(full_compaction, &options.changelog);
  if (!compact.ok()) {
    writer.Abort();
    return compact.status();
  }
  if (compact->empty() && options.changelog.empty()) return result;
  auto compacted = table.Commit(*compact, options);
  if (compacted.ok()) {
    result.compact_snapshot = *compacted;
    return result;
  }
  DeleteChangelogFiles(*table.file_system(), table.path(), schema, options.changelog);
  ARROW_RETURN_NOT_OK(writer.AbortCompaction(*compact));
  // A conflicting compaction loses nothing: the appended data is committed and the inputs stay.
  if (compacted.status().IsCancelled()) return result;
  return compacted.status();
}

}  // namespace millpond::table
