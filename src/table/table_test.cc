// Table layer tests on a real local warehouse: commits (including racing committers), rolling,
// schema evolution, time travel, tags and golden tables written by Paimon Java.
#include <filesystem>
#include <fstream>
#include <thread>

#include <arrow/api.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/initialize.h>
#include <gtest/gtest.h>

#include "millpond/paimon/binary_row.h"
#include "millpond/paimon/manifest.h"
#include "millpond/table/catalog.h"
#include "millpond/table/maintenance.h"
#include "table_test_util.h"

namespace millpond::table {
namespace {

class TableTest : public WarehouseTest {
 protected:
  TableTest() : WarehouseTest("millpond_table_test_") {}

  std::unique_ptr<Table> Create(const std::string& id, std::map<std::string, std::string> options,
                                std::vector<std::string> partition = {}) {
    paimon::TableSchema s;
    for (auto [name, type] : std::vector<std::pair<std::string, std::string>>{
             {"id", "BIGINT NOT NULL"}, {"line", "STRING"}, {"value", "INT"}}) {
      paimon::DataField f;
      f.name = name;
      f.type = *paimon::ParseDataType(type);
      s.fields.push_back(f);
    }
    s.partition_keys = partition;
    s.options = options;
    auto t = catalog_->CreateTable(id, s);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(*t) : nullptr;
  }

  static std::shared_ptr<arrow::RecordBatch> Batch(int64_t first, int64_t n) {
    return IdLineValueBatch(first, n, /*lines=*/3);
  }

  static int64_t WriteCommit(const Table& t, int64_t first, int64_t n) {
    auto w = t.NewWriter();
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_TRUE((*w)->Write(Batch(first, n)).ok());
    auto entries = (*w)->PrepareCommit();
    EXPECT_TRUE(entries.ok());
    auto id = t.Commit(*entries);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : -1;
  }

  static std::shared_ptr<arrow::Table> Scan(const Table& t, ScanOptions o = {}) {
    auto scan = t.NewScan(o);
    EXPECT_TRUE(scan.ok()) << scan.status().ToString();
    auto all = (*scan)->ReadAll();
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    return *all;
  }

  static int64_t SumIds(const arrow::Table& t) {
    int64_t sum = 0;
    auto col = t.GetColumnByName("id");
    for (const auto& chunk : col->chunks()) {
      const auto& a = static_cast<const arrow::Int64Array&>(*chunk);
      for (int64_t i = 0; i < a.length(); ++i) sum += a.Value(i);
    }
    return sum;
  }
};

TEST_F(TableTest, CommitsAreVersionedAndTimeTravelReadsOldVersions) {
  auto t = Create("db.t", {}, {"line"});
  EXPECT_EQ(WriteCommit(*t, 0, 100), 1);
  EXPECT_EQ(WriteCommit(*t, 100, 50), 2);
  EXPECT_EQ(Scan(*t)->num_rows(), 150);
  ScanOptions o;
  o.snapshot_id = 1;
  EXPECT_EQ(Scan(*t, o)->num_rows(), 100);
  ASSERT_TRUE(t->snapshots().CreateTag("first", 1).ok());
  EXPECT_FALSE(t->snapshots().CreateTag("first", 2).ok());  // tags are immutable
  ScanOptions by_tag;
  by_tag.tag = "first";
  EXPECT_EQ(Scan(*t, by_tag)->num_rows(), 100);
  auto snap2 = t->snapshots().ReadSnapshot(2);
  ASSERT_TRUE(snap2.ok());
  EXPECT_EQ(snap2->total_record_count.value_or(-1), 150);
  EXPECT_EQ(snap2->delta_record_count.value_or(-1), 50);
}

TEST_F(TableTest, RacingCommittersLoseNothing) {
  auto t = Create("db.race", {{"bucket", "2"}, {"bucket-key", "id"}});
  constexpr int kThreads = 4, kCommits = 5, kRows = 20;
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int c = 0; c < kCommits; ++c) WriteCommit(*t, (th * kCommits + c) * kRows, kRows);
    });
  }
  for (auto& th : threads) th.join();
  auto ids = t->snapshots().ListSnapshotIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), static_cast<size_t>(kThreads * kCommits));
  auto all = Scan(*t);
  const int64_t n = kThreads * kCommits * kRows;
  EXPECT_EQ(all->num_rows(), n);
  EXPECT_EQ(SumIds(*all), n * (n - 1) / 2);  // every id exactly once
}

TEST_F(TableTest, FilesRollAtTargetFileSize) {
  auto t = Create("db.roll", {{"target-file-size", "16kb"}});
  auto w = t->NewWriter();
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*w)->Write(Batch(i * 5000, 5000)).ok());
  auto entries = (*w)->PrepareCommit();
  ASSERT_TRUE(entries.ok());
  EXPECT_GT(entries->size(), 2u);
  ASSERT_TRUE(t->Commit(*entries).ok());
  auto all = Scan(*t);
  EXPECT_EQ(all->num_rows(), 100000);
  EXPECT_EQ(SumIds(*all), int64_t{100000} * 99999 / 2);
}

TEST_F(TableTest, ManyCommitsMergeManifests) {
  auto t = Create("db.many", {});
  for (int i = 0; i < 40; ++i) WriteCommit(*t, i * 10, 10);
  auto latest = t->snapshots().ReadSnapshot(40);
  ASSERT_TRUE(latest.ok());
  auto all = Scan(*t);
  EXPECT_EQ(all->num_rows(), 400);
  EXPECT_EQ(SumIds(*all), 400 * 399 / 2);
}

TEST_F(TableTest, ManifestsAreDecodedOncePerProcess) {
  // Manifest files never change once written (UUID names), so a plan reuses what it decoded
  // before: overwriting every manifest with garbage (a probe; real manifests are immutable) does
  // not disturb a second scan, while a manifest never read before is still read and checked.
  auto t = Create("db.cache", {});
  WriteCommit(*t, 0, 10);
  WriteCommit(*t, 10, 10);
  EXPECT_EQ(SumIds(*Scan(*t)), 20 * 19 / 2);
  const auto dir = dir_ / "db.db" / "cache" / "manifest";
  int overwritten = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    std::ofstream(f.path(), std::ios::trunc) << "not avro";
    ++overwritten;
  }
  EXPECT_GE(overwritten, 3);
  EXPECT_EQ(SumIds(*Scan(*t)), 20 * 19 / 2);
  WriteCommit(*t, 20, 10);  // its manifest list names the old (cached) manifests and a new one
  EXPECT_EQ(SumIds(*Scan(*t)), 30 * 29 / 2);
  // A manifest this process never decoded is read from storage: garbage is an error.
  auto other = Create("db.cold", {});
  WriteCommit(*other, 0, 5);
  for (const auto& f : std::filesystem::directory_iterator(
           dir_ / "db.db" / "cold" / "manifest")) {
    std::ofstream(f.path(), std::ios::trunc) << "not avro";
  }
  auto scan = other->NewScan({});
  EXPECT_FALSE(scan.ok());
}

TEST_F(TableTest, SchemaEvolutionReadsOldFilesByFieldId) {
  auto t = Create("db.evo", {});
  WriteCommit(*t, 0, 10);
  std::vector<SchemaChange> changes = {
      {SchemaChange::Kind::kRenameColumn, "value", "reading", nullptr, ""},
      {SchemaChange::Kind::kUpdateColumnType, "reading", "", *paimon::ParseDataType("BIGINT"), ""},
      {SchemaChange::Kind::kAddColumn, "unit", "", *paimon::ParseDataType("STRING"), ""},
      {SchemaChange::Kind::kDropColumn, "line", "", nullptr, ""}};
  auto s = t->schemas().Alter(changes);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto all = Scan(*t);
  ASSERT_EQ(all->num_columns(), 3);
  EXPECT_EQ(all->schema()->field(1)->name(), "reading");
  EXPECT_TRUE(all->schema()->field(1)->type()->Equals(arrow::int64()));
  auto reading = std::static_pointer_cast<arrow::Int64Array>(all->column(1)->chunk(0));
  EXPECT_EQ(reading->Value(3), 30);
  EXPECT_EQ(all->column(2)->null_count(), 10);  // added column: null in old files
  // Narrowing is refused.
  auto bad = t->schemas().Alter(
      {{SchemaChange::Kind::kUpdateColumnType, "reading", "", *paimon::ParseDataType("INT"), ""}});
  EXPECT_FALSE(bad.ok());
}

TEST_F(TableTest, FilterPrunesPartitionsAndFiles) {
  auto t = Create("db.prune", {}, {"line"});
  WriteCommit(*t, 0, 300);
  ScanOptions o;
  o.where = "line = 'L1' AND id >= 0";
  auto scan = t->NewScan(o);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ((*scan)->plan().total_files, 3);
  EXPECT_EQ((*scan)->plan().files.size(), 1u);
  EXPECT_EQ((*(*scan)->ReadAll())->num_rows(), 100);
  ScanOptions none;
  none.where = "id > 100000";
  auto scan2 = t->NewScan(none);
  ASSERT_TRUE(scan2.ok());
  EXPECT_EQ((*scan2)->plan().files.size(), 0u);  // pruned by max(id) statistics
}

TEST_F(TableTest, ExpireKeepsRetainedSnapshotsTagsAndTheirFiles) {
  auto t = Create("db.exp", {{"snapshot.num-retained.min", "2"}, {"snapshot.time-retained", "1 s"}});
  for (int i = 0; i < 5; ++i) WriteCommit(*t, i * 10, 10);
  ASSERT_TRUE(t->snapshots().CreateTag("t1", 1).ok());
  auto snap5 = t->snapshots().ReadSnapshot(5);
  ASSERT_TRUE(snap5.ok());
  // Before the retention time nothing expires.
  auto none = ExpireSnapshots(t->file_system(), t->path(), snap5->time_millis);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->snapshots_expired, 0);
  auto r = ExpireSnapshots(t->file_system(), t->path(), snap5->time_millis + 60'000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->snapshots_expired, 3);
  auto ids = t->snapshots().ListSnapshotIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(Scan(*t)->num_rows(), 50);  // append files stay live in the latest snapshot
  ScanOptions tag;
  tag.tag = "t1";
  EXPECT_EQ(Scan(*t, tag)->num_rows(), 10);  // the tag keeps its manifests
  EXPECT_GT(r->manifest_files_deleted, 0);
  EXPECT_EQ(r->data_files_deleted, 0);
  // Nothing reachable is an orphan.
  auto o = RemoveOrphanFiles(t->file_system(), t->path(), snap5->time_millis + 3'600'000);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(Scan(*t)->num_rows(), 50);
  EXPECT_EQ(Scan(*t, tag)->num_rows(), 10);
}

TEST_F(TableTest, OrphanCleanupDeletesOnlyOldUnreachableFiles) {
  auto t = Create("db.orph", {});
  WriteCommit(*t, 0, 10);
  auto w = t->NewWriter();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(Batch(100, 10)).ok());
  auto uncommitted = (*w)->PrepareCommit();  // written, never committed: an orphan
  ASSERT_TRUE(uncommitted.ok());
  auto s1 = t->snapshots().ReadSnapshot(1);
  ASSERT_TRUE(s1.ok());
  // A guard older than the files keeps everything.
  auto kept = RemoveOrphanFiles(t->file_system(), t->path(), s1->time_millis - 60'000);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->files_deleted, 0);
  auto removed = RemoveOrphanFiles(t->file_system(), t->path(), s1->time_millis + 3'600'000);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(removed->files_deleted, 1);
  EXPECT_EQ(Scan(*t)->num_rows(), 10);
}

TEST_F(TableTest, BranchesShareFilesAndFastForward) {
  auto t = Create("db.br", {{"snapshot.num-retained.min", "1"}, {"snapshot.time-retained", "1 s"}});
  WriteCommit(*t, 0, 10);
  ASSERT_TRUE(t->CreateBranch("exp", 1, std::nullopt).ok());
  EXPECT_FALSE(t->CreateBranch("exp", 1, std::nullopt).ok());  // exists
  auto exp = t->OnBranch("exp");
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  WriteCommit(**exp, 10, 5);  // branch snapshot 2
  WriteCommit(*t, 100, 1);    // main snapshot 2, independent
  EXPECT_EQ(Scan(**exp)->num_rows(), 15);
  EXPECT_EQ(Scan(*t)->num_rows(), 11);
  // Expiring main must keep the files the branch still reads.
  auto latest = t->snapshots().ReadSnapshot(2);
  ASSERT_TRUE(latest.ok());
  auto r = ExpireSnapshots(t->file_system(), t->path(), latest->time_millis + 60'000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->snapshots_expired, 1);
  EXPECT_EQ(Scan(**exp)->num_rows(), 15);
  ASSERT_TRUE(t->FastForward("exp").ok());
  auto main_rows = Scan(*t);
  EXPECT_EQ(main_rows->num_rows(), 15);
  EXPECT_EQ(SumIds(*main_rows), 15 * 14 / 2);
  ASSERT_TRUE(t->DeleteBranch("exp").ok());
  EXPECT_FALSE(t->OnBranch("exp").ok());
  EXPECT_FALSE(t->DeleteBranch("main").ok());
}

TEST_F(TableTest, PrimaryKeyWritersConflictOnlyOnTheSameBucket) {
  paimon::TableSchema s;
  for (auto [name, type] : std::vector<std::pair<std::string, std::string>>{
           {"id", "BIGINT"}, {"line", "STRING"}, {"value", "INT"}}) {
    paimon::DataField f;
    f.name = name;
    f.type = *paimon::ParseDataType(type);
    s.fields.push_back(f);
  }
  s.primary_keys = {"id"};
  s.options = {{"bucket", "2"}};
  auto created = catalog_->CreateTable("db.pk", s);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto& t = **created;
  auto commit = [&](KeyValueWriter& w, int64_t first, int64_t n) {
    EXPECT_TRUE(w.Write(Batch(first, n)).ok());
    auto entries = w.PrepareCommit();
    EXPECT_TRUE(entries.ok());
    return t.Commit(*entries);
  };
  // Two writers opened on the same state, both writing every bucket: the second must be refused.
  auto a = t.NewKeyValueWriter();
  auto b = t.NewKeyValueWriter();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(commit(**a, 0, 100).ok());
  auto lost = commit(**b, 1000, 100);
  ASSERT_FALSE(lost.ok());
  EXPECT_TRUE(lost.status().IsCancelled()) << lost.status().ToString();
  EXPECT_EQ(Scan(t)->num_rows(), 100);  // the first commit stands, nothing half-applied
  // A writer opened after the first commit continues its sequence numbers and commits.
  auto c = t.NewKeyValueWriter();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(commit(**c, 50, 100).ok());
  EXPECT_EQ(Scan(t)->num_rows(), 150);  // ids 0..149, 50..99 updated
  // Writers on different buckets commit concurrently: split fresh ids by their bucket.
  auto probe = Batch(10000, 64);
  auto buckets = paimon::ComputeBuckets(*probe, {0}, {*paimon::ParseDataType("BIGINT")}, 2);
  ASSERT_TRUE(buckets.ok());
  std::vector<int64_t> in0, in1;
  for (int i = 0; i < 64; ++i) ((*buckets)[i] == 0 ? in0 : in1).push_back(i);
  ASSERT_FALSE(in0.empty() || in1.empty());
  auto d = t.NewKeyValueWriter();
  auto e = t.NewKeyValueWriter();
  ASSERT_TRUE(d.ok() && e.ok());
  auto take = [&](const std::vector<int64_t>& rows) {
    arrow::Int64Builder idx;
    EXPECT_TRUE(idx.AppendValues(rows).ok());
    auto r = arrow::compute::Take(probe, *idx.Finish());
    EXPECT_TRUE(r.ok());
    return r->record_batch();
  };
  ASSERT_TRUE((*d)->Write(take(in0)).ok());
  ASSERT_TRUE((*e)->Write(take(in1)).ok());
  auto de = (*d)->PrepareCommit();
  auto ee = (*e)->PrepareCommit();
  ASSERT_TRUE(de.ok() && ee.ok());
  ASSERT_TRUE(t.Commit(*de).ok());
  auto second = t.Commit(*ee);
  EXPECT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(Scan(t)->num_rows(), 150 + 64);
}

TEST_F(TableTest, PrimaryKeyFiltersSeeOnlyTheLatestVersion) {
  paimon::TableSchema s;
  for (auto [name, type] : std::vector<std::pair<std::string, std::string>>{
           {"id", "BIGINT"}, {"line", "STRING"}, {"value", "INT"}}) {
    paimon::DataField f;
    f.name = name;
    f.type = *paimon::ParseDataType(type);
    s.fields.push_back(f);
  }
  s.primary_keys = {"id"};
  s.options = {{"bucket", "1"}};
  auto t = catalog_->CreateTable("db.pkf", s);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  // Three sorted runs: ids 0..99 (value 10*id), then ids 50..149 (value 10*id), then id 60 deleted.
  for (auto [first, n] : std::vector<std::pair<int64_t, int64_t>>{{0, 100}, {50, 100}}) {
    auto w = (*t)->NewKeyValueWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(Batch(first, n)).ok());
    ASSERT_TRUE((*t)->Commit(*(*w)->PrepareCommit()).ok());
  }
  auto w = (*t)->NewKeyValueWriter();
  ASSERT_TRUE((*w)->Write(Batch(60, 1), RowKind::kDelete).ok());
  ASSERT_TRUE((*t)->Commit(*(*w)->PrepareCommit()).ok());
  ScanOptions key;
  key.where = "id = 120";  // only in the second run: the others are pruned by key range
  auto scan = (*t)->NewScan(key);
  ASSERT_TRUE(scan.ok());
  EXPECT_LT((*scan)->plan().files.size(), static_cast<size_t>((*scan)->plan().total_files));
  EXPECT_EQ((*(*scan)->ReadAll())->num_rows(), 1);
  ScanOptions deleted;
  deleted.where = "id = 60";
  EXPECT_EQ(Scan(**t, deleted)->num_rows(), 0);
  ScanOptions by_value;
  by_value.where = "value >= 600 AND value < 700";  // ids 60..69 minus the deleted 60
  EXPECT_EQ(Scan(**t, by_value)->num_rows(), 9);
  EXPECT_EQ(Scan(**t)->num_rows(), 149);
}

TEST_F(TableTest, ReadsGoldenTableWrittenByPaimonJava) {
  auto c = Catalog::Open(MILLPOND_INTEROP_DIR "/parquet", /*create_if_missing=*/false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto t = (*c)->GetTable("append_10.append_10");
  ASSERT_TRUE(t.ok());
  auto all = Scan(**t);
  // README: Alice, Bob, Emily, Tony (f1=10) and Lucy (f1=20).
  EXPECT_EQ(all->num_rows(), 5);
  ScanOptions o;
  o.where = "f1 = 20";
  auto lucy = Scan(**t, o);
  ASSERT_EQ(lucy->num_rows(), 1);
  EXPECT_EQ(std::static_pointer_cast<arrow::StringArray>(lucy->column(0)->chunk(0))->GetString(0),
            "Lucy");
}

}  // namespace
}  // namespace millpond::table
