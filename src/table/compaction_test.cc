// Compaction tests: universal picking on known run sizes, full compaction against merge-on-read,
// automatic compaction and write stalls, and COMPACT commits racing concurrent appends.
#include "millpond/table/compaction.h"

#include <filesystem>
#include <map>

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <gtest/gtest.h>

#include "millpond/paimon/binary_row.h"
#include "millpond/table/catalog.h"
#include "millpond/table/key_value_writer.h"
#include "millpond/table/manifest_io.h"
#include "millpond/table/merge_read.h"
#include "deletion_vector.h"
#include "table_test_util.h"

namespace millpond::table {
namespace {

SortedRun MakeRun(int32_t level, int64_t size) {
  SortedRun r;
  r.level = level;
  r.total_size = size;
  paimon::ManifestEntry e;
  e.file.level = level;
  e.file.file_size = size;
  r.files.push_back(e);
  return r;
}

TEST(UniversalPick, BelowTriggerPicksNothing) {
  CompactionOptions o;
  EXPECT_FALSE(PickUniversal(o, {MakeRun(0, 1), MakeRun(0, 1), MakeRun(0, 1), MakeRun(5, 100)}));
}

TEST(UniversalPick, SizeAmplificationCompactsEverythingToMaxLevel) {
  CompactionOptions o;
  auto unit = PickUniversal(o, {MakeRun(0, 10), MakeRun(0, 10), MakeRun(0, 10), MakeRun(0, 10), MakeRun(5, 10)});
  ASSERT_TRUE(unit);
  EXPECT_EQ(unit->output_level, 5);
  EXPECT_EQ(unit->runs, 5);
}

TEST(UniversalPick, SizeRatioStopsBeforeALargeHigherRun) {
  CompactionOptions o;
  // 4 small level-0 runs over a large level-5 run: amplification 4 % < 200 %, ratio picks the
  // four small ones and outputs just above level 5.
  auto unit = PickUniversal(o, {MakeRun(0, 1), MakeRun(0, 1), MakeRun(0, 1), MakeRun(0, 1), MakeRun(5, 100)});
  ASSERT_TRUE(unit);
  EXPECT_EQ(unit->runs, 4);
  EXPECT_EQ(unit->output_level, 4);
}

TEST(UniversalPick, FileCountForcesAPickWhenRatiosDoNot) {
  CompactionOptions o;
  auto unit = PickUniversal(o, {MakeRun(0, 1), MakeRun(0, 10), MakeRun(0, 100), MakeRun(0, 1000), MakeRun(0, 10000),
                                MakeRun(5, 100000)});
  ASSERT_TRUE(unit);
  // Candidate count 6 - 5 + 1 = 2, then the remaining level-0 runs are taken along.
  EXPECT_EQ(unit->runs, 5);
  EXPECT_EQ(unit->output_level, 4);
}

TEST(UniversalPick, TakesLevelZeroAlongAndOutputsJustAboveTheNextRun) {
  CompactionOptions o;
  // Ratio triggers on the two small runs; once triggered the larger level-0 runs are taken along
  // too, but not the level-2 run; the output goes to level 1, just above it.
  auto unit = PickUniversal(o, {MakeRun(0, 1), MakeRun(0, 1), MakeRun(0, 100), MakeRun(0, 100),
                                MakeRun(2, 10000), MakeRun(5, 100000)});
  ASSERT_TRUE(unit);
  EXPECT_EQ(unit->output_level, 1);
  EXPECT_EQ(unit->runs, 4);
}

TEST(UniversalPick, FullPicksEverythingUnlessAlreadyOneMaxLevelRun) {
  CompactionOptions o;
  auto unit = PickFull(o, {MakeRun(0, 1), MakeRun(3, 5)});
  ASSERT_TRUE(unit);
  EXPECT_EQ(unit->output_level, 5);
  EXPECT_FALSE(PickFull(o, {MakeRun(5, 5)}));
  EXPECT_FALSE(PickFull(o, {}));
}

class CompactionTest : public WarehouseTest {
 protected:
  CompactionTest() : WarehouseTest("millpond_compaction_test_") {}

  std::unique_ptr<Table> Create(std::map<std::string, std::string> options) {
    paimon::TableSchema s;
    for (auto [name, type] : std::vector<std::pair<std::string, std::string>>{
             {"id", "BIGINT"}, {"value", "INT"}}) {
      paimon::DataField f;
      f.name = name;
      f.type = *paimon::ParseDataType(type);
      s.fields.push_back(f);
    }
    s.primary_keys = {"id"};
    s.options = options;
    auto prepared = PrepareKeyValueTableSchema(s);
    EXPECT_TRUE(prepared.ok()) << prepared.status().ToString();
    SchemaManager schemas(catalog_->file_system(), catalog_->TablePath("db", "t"));
    auto ok = schemas.TryCommit(*prepared);
    EXPECT_TRUE(ok.ok() && *ok);
    auto t = catalog_->GetTable("db.t");
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::move(*t);
  }

  static std::shared_ptr<arrow::RecordBatch> Batch(const std::vector<int64_t>& ids,
                                                   const std::vector<int32_t>& values) {
    arrow::Int64Builder ib;
    arrow::Int32Builder vb;
    EXPECT_TRUE(ib.AppendValues(ids).ok());
    EXPECT_TRUE(vb.AppendValues(values).ok());
    auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                                 arrow::field("value", arrow::int32())});
    return arrow::RecordBatch::Make(schema, static_cast<int64_t>(ids.size()),
                                    {*ib.Finish(), *vb.Finish()});
  }

  std::vector<paimon::ManifestEntry> Live(const Table& t) {
    auto schema = *t.LatestSchema();
    auto latest = *t.snapshots().LatestSnapshotId();
    if (!latest) return {};
    auto snap = *t.snapshots().ReadSnapshot(*latest);
    ManifestIO m(t.file_system(), t.path(), paimon::AvroCodec::kZstd, {});
    auto live = m.LiveEntries(snap);
    EXPECT_TRUE(live.ok()) << live.status().ToString();
    return *live;
  }

  // Merge-on-read of the latest snapshot: id -> value.
  std::map<int64_t, int32_t> Read(const Table& t) {
    auto schema = *t.LatestSchema();
    std::map<int64_t, paimon::TableSchema> schemas{{schema.id, schema}};
    std::map<int64_t, int32_t> out;
    for (const auto& group : GroupByBucket(Live(t))) {
      auto batches = ReadPrimaryKeyBucket(*t.file_system(), t.path(), schema, schemas, group,
                                          nullptr);
      EXPECT_TRUE(batches.ok()) << batches.status().ToString();
      for (const auto& b : *batches) {
        const auto& ids = static_cast<const arrow::Int64Array&>(*b->column(0));
        const auto& vs = static_cast<const arrow::Int32Array&>(*b->column(1));
        for (int64_t i = 0; i < b->num_rows(); ++i) out[ids.Value(i)] = vs.Value(i);
      }
    }
    return out;
  }

  // One writer session: upserts then deletes, committed as APPEND (+ COMPACT when picked).
  WriteCommitResult Write(const Table& t, const std::vector<int64_t>& ids, int32_t value,
                          const std::vector<int64_t>& deletes = {}) {
    auto w = t.NewKeyValueWriter();
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    std::vector<int32_t> values(ids.size(), value);
    EXPECT_TRUE((*w)->Write(Batch(ids, values)).ok());
    if (!deletes.empty()) {
      std::vector<int32_t> zeros(deletes.size(), 0);
      EXPECT_TRUE((*w)->Write(Batch(deletes, zeros), RowKind::kDelete).ok());
    }
    auto r = CommitKeyValueWrite(t, **w);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : WriteCommitResult{};
  }
};

TEST_F(CompactionTest, AutomaticCompactionKeepsRowsAndBoundsSortedRuns) {
  auto t = Create({{"bucket", "2"}});
  std::map<int64_t, int32_t> expected;
  int compactions = 0;
  for (int round = 0; round < 30; ++round) {
    std::vector<int64_t> ids, dels;
    for (int64_t k = round; k < round + 20; ++k) ids.push_back(k);
    for (int64_t k = round; k < round + 20; k += 7) dels.push_back(k + 3);
    auto r = Write(*t, ids, round, dels);
    if (r.compact_snapshot) {
      ++compactions;
      EXPECT_EQ(*r.compact_snapshot, r.append_snapshot + 1);
      auto snap = *t->snapshots().ReadSnapshot(*r.compact_snapshot);
      EXPECT_EQ(snap.commit_kind, "COMPACT");
    }
    for (auto k : ids) expected[k] = round;
    for (auto k : dels) expected.erase(k);
    for (const auto& group : GroupByBucket(Live(*t))) {
      auto runs = LevelSortedRuns(group);
      EXPECT_LE(runs.size(), 5u + 3u);
      // Files of one level >= 1 never overlap in sequence-independent key ranges: each level is
      // one sorted run, so no key appears twice in it.
      for (const auto& run : runs) {
        if (run.level == 0) continue;
        std::map<int64_t, int> seen;
        for (const auto& e : run.files) {
          EXPECT_EQ(e.file.file_source, static_cast<int32_t>(paimon::FileSource::kCompact));
          EXPECT_LE(e.file.min_sequence_number, e.file.max_sequence_number);
        }
      }
    }
    ASSERT_EQ(Read(*t), expected) << "round " << round;
  }
  EXPECT_GT(compactions, 0);
}

TEST_F(CompactionTest, WriteStallsAtStopTrigger) {
  // A tiny write buffer makes every Write flush a run; the writer must compact in between.
  auto t = Create({{"bucket", "1"}, {"write-buffer-size", "1 b"}});
  auto w = *t->NewKeyValueWriter();
  std::map<int64_t, int32_t> expected;
  const std::string partition = *paimon::SerializeBinaryRow({}, {});
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(w->Write(Batch({i, i + 1}, {i, i})).ok());
    expected[i] = i;
    expected[i + 1] = i;
    EXPECT_LE(w->SortedRuns(partition, 0), 8);
  }
  EXPECT_GT(w->stall_count(), 0);
  auto r = CommitKeyValueWrite(*t, *w);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->compact_snapshot);
  EXPECT_EQ(Read(*t), expected);
  for (const auto& group : GroupByBucket(Live(*t))) EXPECT_LE(LevelSortedRuns(group).size(), 8u);
}

TEST_F(CompactionTest, FullCompactionEqualsMergeOnReadAndDropsDeletes) {
  auto t = Create({{"bucket", "2"}, {"num-sorted-run.compaction-trigger", "100"}});
  Write(*t, {1, 2, 3, 4, 5, 6}, 1);
  Write(*t, {2, 4, 6, 8}, 2, {1, 3});
  Write(*t, {9}, 3, {5, 100});
  auto before = Read(*t);
  auto summary = CompactTable(*t, /*full=*/true);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->buckets, 2);
  auto snap = *t->snapshots().ReadSnapshot(summary->snapshot_id);
  EXPECT_EQ(snap.commit_kind, "COMPACT");
  EXPECT_EQ(Read(*t), before);
  int64_t rows = 0;
  for (const auto& e : Live(*t)) {
    // num-levels defaults to the compaction trigger + 1, so the max level here is 100.
    EXPECT_EQ(e.file.level, 100);
    EXPECT_EQ(e.file.delete_row_count.value_or(0), 0);
    rows += e.file.row_count;
  }
  EXPECT_EQ(rows, static_cast<int64_t>(before.size()));
  // Already fully compacted: nothing to do, no new snapshot.
  auto again = CompactTable(*t, /*full=*/true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->buckets, 0);
  EXPECT_EQ(again->snapshot_id, summary->snapshot_id);
}

TEST_F(CompactionTest, ConcurrentAppendBetweenPlanAndCommitIsKept) {
  auto t = Create({{"bucket", "1"}, {"num-sorted-run.compaction-trigger", "100"}});
  Write(*t, {1, 2, 3}, 1);
  Write(*t, {2, 3}, 2);
  // Plan and rewrite a full compaction against the current snapshot...
  auto schema = *t->LatestSchema();
  std::map<int64_t, paimon::TableSchema> schemas{{schema.id, schema}};
  auto runs = LevelSortedRuns(Live(*t));
  auto unit = PickFull(*CompactionOptions::FromSchema(schema), runs);
  ASSERT_TRUE(unit);
  std::vector<std::string> written;
  auto entries = RewriteCompactUnit(*t->file_system(), t->path(), schema, schemas, *unit,
                                    DropsDelete(*unit, runs), &written);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  // ...another writer appends (and deletes) meanwhile...
  Write(*t, {3, 4}, 3, {1});
  // ...and the compaction commits on top of it: the append stays live.
  CommitOptions compact;
  compact.commit_kind = "COMPACT";
  auto id = t->Commit(*entries, compact);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(Read(*t), (std::map<int64_t, int32_t>{{2, 2}, {3, 3}, {4, 3}}));
  // Sequence invariant: the appended level-0 file is newer than everything compacted.
  int64_t compacted_max = -1, appended_min = -1;
  for (const auto& e : Live(*t)) {
    if (e.file.level > 0) compacted_max = std::max(compacted_max, e.file.max_sequence_number);
    if (e.file.level == 0) appended_min = e.file.min_sequence_number;
  }
  EXPECT_LT(compacted_max, appended_min);
}

TEST_F(CompactionTest, ConflictingCompactionFailsAndIsRetried) {
  auto t = Create({{"bucket", "1"}, {"num-sorted-run.compaction-trigger", "100"}});
  Write(*t, {1, 2}, 1);
  Write(*t, {2, 3}, 2);
  auto schema = *t->LatestSchema();
  std::map<int64_t, paimon::TableSchema> schemas{{schema.id, schema}};
  auto runs = LevelSortedRuns(Live(*t));
  auto unit = PickFull(*CompactionOptions::FromSchema(schema), runs);
  ASSERT_TRUE(unit);
  std::vector<std::string> written;
  auto stale = RewriteCompactUnit(*t->file_system(), t->path(), schema, schemas, *unit, true,
                                  &written);
  ASSERT_TRUE(stale.ok());
  // A second compactor replaces the same files first.
  auto first = CompactTable(*t, /*full=*/true);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  CommitOptions compact;
  compact.commit_kind = "COMPACT";
  auto id = t->Commit(*stale, compact);
  ASSERT_FALSE(id.ok());
  EXPECT_TRUE(id.status().IsCancelled()) << id.status().ToString();
  EXPECT_EQ(Read(*t), (std::map<int64_t, int32_t>{{1, 1}, {2, 2}, {3, 2}}));
  // CompactTable re-plans on the latest snapshot, so a later append and compaction succeed.
  Write(*t, {4}, 4);
  auto second = CompactTable(*t, /*full=*/true);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(Read(*t), (std::map<int64_t, int32_t>{{1, 1}, {2, 2}, {3, 2}, {4, 4}}));
}

TEST_F(CompactionTest, DeletesSurviveCompactionAboveOlderData) {
  // Runs at a high level hold key 1; a compaction of newer runs into a lower level must keep the
  // delete of key 1, or the old row would come back.
  auto t = Create({{"bucket", "1"}, {"num-sorted-run.compaction-trigger", "100"}});
  Write(*t, {1, 2}, 1);
  ASSERT_TRUE(CompactTable(*t, /*full=*/true).ok());  // level 5
  Write(*t, {3}, 2, {1});
  Write(*t, {4}, 3);
  auto schema = *t->LatestSchema();
  std::map<int64_t, paimon::TableSchema> schemas{{schema.id, schema}};
  auto runs = LevelSortedRuns(Live(*t));
  ASSERT_EQ(runs.size(), 3u);
  CompactUnit unit;
  unit.output_level = 4;
  unit.runs = 2;
  for (int i = 0; i < 2; ++i) unit.files.push_back(runs[i].files[0]);
  EXPECT_FALSE(DropsDelete(unit, runs));
  std::vector<std::string> written;
  auto entries = RewriteCompactUnit(*t->file_system(), t->path(), schema, schemas, unit,
                                    DropsDelete(unit, runs), &written);
  ASSERT_TRUE(entries.ok());
  CommitOptions compact;
  compact.commit_kind = "COMPACT";
  ASSERT_TRUE(t->Commit(*entries, compact).ok());
  EXPECT_EQ(Read(*t), (std::map<int64_t, int32_t>{{2, 1}, {3, 2}, {4, 3}}));
}

TEST(DeletionVectorEncoding, RoundTripsArrayAndBitmapContainers) {
  std::vector<uint32_t> values = {0, 3, 65535, 65536, 70000, 1u << 31};
  for (uint32_t v = 200000; v < 200000 + 5000; ++v) values.push_back(v);  // a bitmap container
  std::sort(values.begin(), values.end());
  auto decoded = DecodeRoaringBitmap(EncodeRoaringBitmap(values));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, values);
  std::vector<DeletionVectorRange> ranges;
  std::string file = EncodeDeletionVectorIndexFile({{"a.parquet", {1, 2}}, {"b.parquet", values}},
                                                   &ranges);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].offset, 1);
  EXPECT_EQ(*ranges[1].cardinality, static_cast<int64_t>(values.size()));
  auto b = DecodeDeletionVector(file, ranges[1].offset, "b");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, values);
  IndexManifestEntry e;
  e.bucket = 1;
  e.index_type = std::string(kDeletionVectorsIndex);
  e.file_name = "index-x-0";
  e.file_size = static_cast<int64_t>(file.size());
  e.row_count = 2;
  e.dv_ranges = ranges;
  auto manifest = EncodeIndexManifest({e}, paimon::AvroCodec::kZstd);
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  auto back = DecodeIndexManifest(*manifest, "m");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].file_name, "index-x-0");
  ASSERT_EQ((*back)[0].dv_ranges.size(), 2u);
  EXPECT_EQ((*back)[0].dv_ranges[1].data_file, "b.parquet");
  EXPECT_EQ((*back)[0].dv_ranges[1].length, ranges[1].length);
}

TEST_F(CompactionTest, DeletionVectorTableCompactsEveryWriteAndMarksOlderRows) {
  auto t = Create({{"bucket", "1"}, {"deletion-vectors.enabled", "true"},
                   {"num-sorted-run.compaction-trigger", "3"}});
  std::map<int64_t, int32_t> expected;
  int rounds_with_vectors = 0;
  for (int round = 0; round < 12; ++round) {
    std::vector<int64_t> ids = {round, round + 1, round + 2};
    auto r = Write(*t, ids, round, {round + 10});
    ASSERT_TRUE(r.compact_snapshot) << "round " << round;
    for (auto k : ids) expected[k] = round;
    expected.erase(round + 10);
    // Readers of deletion-vector tables skip level 0 and apply the vectors.
    auto schema = *t->LatestSchema();
    auto snap = *t->snapshots().ReadSnapshot(*r.compact_snapshot);
    auto dvs = DeletionVectors::Load(*t->file_system(), t->path(), schema, snap);
    ASSERT_TRUE(dvs.ok()) << dvs.status().ToString();
    std::map<int64_t, paimon::TableSchema> schemas{{schema.id, schema}};
    std::map<int64_t, int32_t> got;
    for (const auto& group : GroupByBucket(Live(*t))) {
      for (const auto& e : group) EXPECT_GT(e.file.level, 0);
      auto batches = ReadPrimaryKeyBucket(*t->file_system(), t->path(), schema, schemas, group,
                                          dvs->get());
      ASSERT_TRUE(batches.ok()) << batches.status().ToString();
      for (const auto& b : *batches) {
        const auto& ids_arr = static_cast<const arrow::Int64Array&>(*b->column(0));
        const auto& vs = static_cast<const arrow::Int32Array&>(*b->column(1));
        for (int64_t i = 0; i < b->num_rows(); ++i) got[ids_arr.Value(i)] = vs.Value(i);
      }
    }
    EXPECT_EQ(got, expected) << "round " << round;
    // Runs of similar size are all merged to the max level (no vectors needed); once the
    // max-level run outgrows the new ones, level 0 goes to a middle level and marks old rows.
    if ((*dvs)->size() > 0) ++rounds_with_vectors;
  }
  EXPECT_GT(rounds_with_vectors, 0);
  // A later APPEND keeps the snapshot's deletion vectors (its index manifest is carried over).
  auto w = *t->NewKeyValueWriter();
  ASSERT_TRUE(w->Write(Batch({100}, {1})).ok());
  auto before = *t->snapshots().ReadSnapshot(**t->snapshots().LatestSnapshotId());
  auto id = t->Commit(*w->PrepareCommit());
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(t->snapshots().ReadSnapshot(*id)->index_manifest, before.index_manifest);
}

}  // namespace
}  // namespace millpond::table
