// Changelog producers and streaming reads of primary-key tables, on a real local warehouse:
// changelog-producer none (delta files with their row kinds), input (changelog files of the input
// rows on the APPEND snapshot), lookup and full-compaction (changelog of each compaction on the
// COMPACT snapshot, -U/+U/-D against the previous state), merge engines under lookup, projection
// and filters, consumer resume, expiration and orphan removal of changelog files, bad options.
#include <filesystem>

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <gtest/gtest.h>

#include "millpond/table/catalog.h"
#include "millpond/table/changelog.h"
#include "millpond/table/compaction.h"
#include "millpond/table/maintenance.h"
#include "millpond/table/manifest_io.h"
#include "millpond/table/stream_scan.h"
#include "table_test_util.h"

namespace millpond::table {
namespace {

class NoSleepClock : public Clock {
 public:
  int64_t NowMillis() override { return now_; }
  void SleepMillis(int64_t millis) override { now_ += millis; }
  int64_t now_ = 1'000'000;
};

struct Row {
  int64_t id;
  std::optional<std::string> name;
  std::optional<int32_t> v;
  std::string kind = "+I";
};

std::string Text(const std::string& kind, int64_t id, const arrow::StringArray* names,
                 const arrow::Int32Array* values, int64_t i) {
  std::string s = kind + ":" + std::to_string(id);
  if (names) s += ":" + (names->IsNull(i) ? std::string("null") : names->GetString(i));
  if (values) {
    s += ":" + (values->IsNull(i) ? std::string("null") : std::to_string(values->Value(i)));
  }
  return s;
}

// Streamed rows as "<kind>:<id>:<name>:<v>" (columns that were projected away are left out).
struct Collected {
  std::vector<std::string> rows;
  StreamSink Sink() {
    StreamSink s;
    s.write = [this](const std::shared_ptr<arrow::RecordBatch>& b) {
      auto kinds = std::static_pointer_cast<arrow::StringArray>(b->column(0));
      auto ids = std::static_pointer_cast<arrow::Int64Array>(b->GetColumnByName("id"));
      auto names = std::static_pointer_cast<arrow::StringArray>(b->GetColumnByName("name"));
      auto values = std::static_pointer_cast<arrow::Int32Array>(b->GetColumnByName("v"));
      for (int64_t i = 0; i < b->num_rows(); ++i) {
        rows.push_back(Text(kinds->GetString(i), ids ? ids->Value(i) : -1, names.get(),
                            values.get(), i));
      }
      return Status::OK();
    };
    return s;
  }
  // Rows since the last call, sorted (buckets are read in any order).
  std::vector<std::string> Take() {
    std::vector<std::string> out = std::move(rows);
    rows.clear();
    std::sort(out.begin(), out.end());
    return out;
  }
};

StreamOptions From(int64_t snapshot) {
  StreamOptions o;
  o.from_snapshot = snapshot;
  return o;
}

StreamOptions Consumer(const std::string& id) {
  StreamOptions o;
  o.consumer_id = id;
  return o;
}

StreamOptions Projected(std::vector<std::string> columns, std::string where) {
  StreamOptions o;
  o.columns = std::move(columns);
  o.where = std::move(where);
  return o;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class ChangelogTest : public WarehouseTest {
 protected:
  ChangelogTest() : WarehouseTest("millpond_changelog_test_") {}

  static paimon::TableSchema Schema(std::map<std::string, std::string> options,
                                    bool primary_key = true) {
    paimon::TableSchema s;
    for (auto [name, type] : std::vector<std::pair<std::string, std::string>>{
             {"id", "BIGINT NOT NULL"}, {"name", "STRING"}, {"v", "INT"}}) {
      paimon::DataField f;
      f.name = name;
      f.type = *paimon::ParseDataType(type);
      s.fields.push_back(f);
    }
    if (primary_key) s.primary_keys = {"id"};
    options.emplace("bucket", "2");
    s.options = options;
    return s;
  }

  void Create(std::map<std::string, std::string> options) {
    auto t = catalog_->CreateTable("db.t", Schema(std::move(options)));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    table_ = std::move(*t);
  }

  static std::shared_ptr<arrow::RecordBatch> Batch(const std::vector<Row>& rows) {
    arrow::Int64Builder ids;
    arrow::StringBuilder names, kinds;
    arrow::Int32Builder values;
    for (const auto& r : rows) {
      EXPECT_TRUE(ids.Append(r.id).ok());
      EXPECT_TRUE((r.name ? names.Append(*r.name) : names.AppendNull()).ok());
      EXPECT_TRUE((r.v ? values.Append(*r.v) : values.AppendNull()).ok());
      EXPECT_TRUE(kinds.Append(r.kind).ok());
    }
    auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                                 arrow::field("name", arrow::utf8()),
                                 arrow::field("v", arrow::int32()),
                                 arrow::field(kRowKindColumn, arrow::utf8())});
    return arrow::RecordBatch::Make(schema, static_cast<int64_t>(rows.size()),
                                    {*ids.Finish(), *names.Finish(), *values.Finish(),
                                     *kinds.Finish()});
  }

  // One write (APPEND, then COMPACT when compaction ran), as `millpond write` does.
  WriteCommitResult Write(const std::vector<Row>& rows) {
    auto w = table_->NewKeyValueWriter();
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    if (!w.ok()) return {};
    EXPECT_TRUE((*w)->Write(Batch(rows)).ok());
    auto r = CommitKeyValueWrite(*table_, **w);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : WriteCommitResult{};
  }

  // The table's merged rows as "id:name:v", sorted.
  std::vector<std::string> Read() {
    auto scan = table_->NewScan({});
    EXPECT_TRUE(scan.ok()) << scan.status().ToString();
    auto t = (*scan)->ReadAll();
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    auto b = *(*t)->CombineChunksToBatch();
    std::vector<std::string> out;
    for (int64_t i = 0; i < b->num_rows(); ++i) {
      auto s = Text("", std::static_pointer_cast<arrow::Int64Array>(b->column(0))->Value(i),
                    static_cast<const arrow::StringArray*>(b->column(1).get()),
                    static_cast<const arrow::Int32Array*>(b->column(2).get()), i);
      out.push_back(s.substr(1));
    }
    return Sorted(out);
  }

  std::unique_ptr<StreamScan> Stream(StreamOptions o = {}) {
    auto s = StreamScan::Make(table_->file_system(), table_->path(), std::move(o), &clock_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  static std::vector<std::string> Drain(StreamScan* s, Collected* c) {
    auto sink = c->Sink();
    while (true) {
      auto r = s->PollOnce(sink);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok() || !*r) break;
    }
    return c->Take();
  }

  paimon::Snapshot SnapshotOf(int64_t id) {
    auto s = table_->snapshots().ReadSnapshot(id);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : paimon::Snapshot{};
  }

  // Changelog files now in the table's bucket folders.
  std::set<std::string> ChangelogFiles() {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(table_->path())) {
      auto name = e.path().filename().string();
      if (name.rfind(kChangelogFilePrefix, 0) == 0) out.insert(name);
    }
    return out;
  }

  // Changelog file names a snapshot lists.
  std::set<std::string> ChangelogOf(const paimon::Snapshot& s) {
    std::set<std::string> out;
    if (!s.changelog_manifest_list) return out;
    auto schema = *table_->LatestSchema();
    ManifestIO io(table_->file_system(), table_->path(), paimon::AvroCodec::kZstd,
                  PartitionTypes(schema));
    auto metas = io.ReadManifestList(*s.changelog_manifest_list);
    EXPECT_TRUE(metas.ok()) << metas.status().ToString();
    for (const auto& m : *metas) {
      auto entries = io.ReadManifest(m.file_name);
      EXPECT_TRUE(entries.ok());
      for (const auto& e : *entries) out.insert(e.file.file_name);
    }
    return out;
  }

  std::unique_ptr<Table> table_;
  NoSleepClock clock_;
};

TEST_F(ChangelogTest, NoneStreamsMergedRowsThenDeltaFilesWithTheirKinds) {
  Create({});
  Write({{1, "a", 1}, {2, "b", 2}, {3, "c", 3}});
  Write({{1, "a", 10}});
  auto stream = Stream();
  Collected c;
  // The full read merges: key 1 once, with its newest value.
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:a:10", "+I:2:b:2", "+I:3:c:3"}));
  Write({{2, "b", 20}, {3, std::nullopt, std::nullopt, "-D"}, {4, "d", 4}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:2:b:20", "-D:3:null:null", "+I:4:d:4"}));
  EXPECT_FALSE(SnapshotOf(3).changelog_manifest_list.has_value());
  EXPECT_FALSE(SnapshotOf(3).changelog_record_count.has_value());
  EXPECT_TRUE(ChangelogFiles().empty());
}

TEST_F(ChangelogTest, InputWritesTheInputRowsAsChangelogOfTheAppendSnapshot) {
  Create({{"changelog-producer", "input"}});
  auto first = Write({{1, "a", 1}, {2, "b", 2}});
  auto s1 = SnapshotOf(first.append_snapshot);
  ASSERT_TRUE(s1.changelog_manifest_list.has_value());
  EXPECT_EQ(s1.changelog_record_count, 2);
  auto files = ChangelogOf(s1);
  EXPECT_FALSE(files.empty());
  for (const auto& f : files) {
    EXPECT_EQ(f.rfind("changelog-", 0), 0u) << f;
    EXPECT_TRUE(f.ends_with(".parquet")) << f;
  }
  EXPECT_EQ(ChangelogFiles(), files);  // in the bucket folders, nothing else

  auto stream = Stream(From(1));
  Collected c;
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:a:1", "+I:2:b:2"}));
  // Every input row arrives as written, with its own kind, even when it changes nothing.
  Write({{1, "a", 1, "-U"}, {1, "a", 5, "+U"}, {2, std::nullopt, std::nullopt, "-D"},
         {4, "d", 4}, {4, "d", 40}});
  EXPECT_EQ(Drain(stream.get(), &c),
            Sorted({"-U:1:a:1", "+U:1:a:5", "-D:2:null:null", "+I:4:d:4", "+I:4:d:40"}));
  EXPECT_EQ(Read(), Sorted({"1:a:5", "4:d:40"}));
}

TEST_F(ChangelogTest, LookupComparesWithThePreviousStateAtEachCommit) {
  Create({{"changelog-producer", "lookup"}});
  auto w1 = Write({{1, "a", 1}, {2, "b", 2}, {3, "c", 3}});
  // The APPEND snapshot has no changelog; the COMPACT snapshot right after it does.
  EXPECT_FALSE(SnapshotOf(w1.append_snapshot).changelog_manifest_list.has_value());
  ASSERT_TRUE(w1.compact_snapshot.has_value());
  auto compact = SnapshotOf(*w1.compact_snapshot);
  EXPECT_EQ(compact.commit_kind, "COMPACT");
  EXPECT_EQ(compact.changelog_record_count, 3);

  auto stream = Stream(From(1));
  Collected c;
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:a:1", "+I:2:b:2", "+I:3:c:3"}));
  // Changed, identical, deleted, new, and a delete of a key that never existed.
  Write({{1, "a", 10}, {2, "b", 2}, {3, std::nullopt, std::nullopt, "-D"}, {4, "d", 4},
         {9, std::nullopt, std::nullopt, "-D"}});
  EXPECT_EQ(Drain(stream.get(), &c),
            Sorted({"-U:1:a:1", "+U:1:a:10", "-U:2:b:2", "+U:2:b:2", "-D:3:c:3", "+I:4:d:4"}));
  // Two upserts of one key in one write: one change, against the committed state.
  Write({{4, "d", 5}, {4, "d", 6}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:4:d:4", "+U:4:d:6"}));
  EXPECT_EQ(Read(), Sorted({"1:a:10", "2:b:2", "4:d:6"}));
}

// lookup-wait=false: a write commits its APPEND, then the compaction of the level-0 files of the
// writes before it (Paimon commits the asynchronous lookup compaction's result one commit later):
// every change reaches the changelog, one write late; `compact` catches up.
TEST_F(ChangelogTest, LookupWaitFalseCompactsTheEarlierWritesLevelZero) {
  for (const char* dv : {"false", "true"}) {
    std::filesystem::remove_all(dir_);
    catalog_ = *Catalog::Open(dir_.string(), true);
    Create({{"changelog-producer", "lookup"}, {"lookup-wait", "false"}, {"bucket", "1"},
            {"deletion-vectors.enabled", dv}});
    auto stream = Stream(From(1));
    Collected c;
    auto w1 = Write({{1, "a", 1}, {2, "b", 2}});
    EXPECT_FALSE(w1.compact_snapshot.has_value()) << dv;
    EXPECT_EQ(Drain(stream.get(), &c), std::vector<std::string>{});
    auto scan = table_->NewScan({});
    ASSERT_TRUE(scan.ok());
    for (const auto& f : (*scan)->plan().files) EXPECT_EQ(f.file.level, 0);
    auto w2 = Write({{1, "a", 5}, {3, "c", 3}});
    ASSERT_TRUE(w2.compact_snapshot.has_value()) << dv;
    EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:a:1", "+I:2:b:2"})) << dv;
    Write({{2, "b", 7}});
    EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:1:a:1", "+U:1:a:5", "+I:3:c:3"})) << dv;
    auto summary = CompactTable(*table_, /*full=*/false);
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    EXPECT_EQ(summary->buckets, 1);
    EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:2:b:2", "+U:2:b:7"})) << dv;
    EXPECT_EQ(Read(), Sorted({"1:a:5", "2:b:7", "3:c:3"})) << dv;
  }
}

TEST_F(ChangelogTest, LookupWithDeletionVectors) {
  Create({{"changelog-producer", "lookup"}, {"deletion-vectors.enabled", "true"}});
  auto stream = Stream(From(1));
  Collected c;
  Write({{1, "a", 1}, {2, "b", 2}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:a:1", "+I:2:b:2"}));
  Write({{1, "a", 3}, {2, std::nullopt, std::nullopt, "-D"}, {3, "c", 3}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:1:a:1", "+U:1:a:3", "-D:2:b:2", "+I:3:c:3"}));
  Write({{1, "a", 4}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:1:a:3", "+U:1:a:4"}));
  EXPECT_EQ(Read(), Sorted({"1:a:4", "3:c:3"}));
}

TEST_F(ChangelogTest, LookupEmitsUpdateBeforeThenUpdateAfterPerKey) {
  Create({{"changelog-producer", "lookup"}, {"bucket", "1"}});
  Write({{1, "a", 1}, {2, "b", 2}});
  Write({{1, "a", 3}, {2, "b", 4}});
  auto stream = Stream(From(3));
  Collected c;
  auto sink = c.Sink();
  while (*stream->PollOnce(sink)) {
  }
  // In key order, -U before +U of the same key (the order a consumer must apply them in).
  EXPECT_EQ(c.rows, (std::vector<std::string>{"-U:1:a:1", "+U:1:a:3", "-U:2:b:2", "+U:2:b:4"}));
}

TEST_F(ChangelogTest, LookupRowDeduplicateDropsIdenticalUpdates) {
  Create({{"changelog-producer", "lookup"}, {"changelog-producer.row-deduplicate", "true"},
          {"changelog-producer.row-deduplicate-ignore-fields", "name"}});
  Write({{1, "a", 1}, {2, "b", 2}});
  auto stream = Stream(From(3));
  Collected c;
  Write({{1, "a", 1}, {2, "renamed", 2}, {3, "c", 3}});
  // Key 1 is identical, key 2 differs only in an ignored field: neither is a change.
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:3:c:3"}));
  Write({{1, "a", 7}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:1:a:1", "+U:1:a:7"}));
}

TEST_F(ChangelogTest, LookupStreamStartsAboveLevelZeroAndLevelZeroArrivesAsChangelog) {
  Create({{"changelog-producer", "lookup"}, {"bucket", "1"}});
  // An APPEND without its compaction (as when the COMPACT commit lost a race).
  auto append_only = [&](const std::vector<Row>& rows) {
    auto w = table_->NewKeyValueWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(Batch(rows)).ok());
    auto entries = (*w)->PrepareCommit();
    ASSERT_TRUE(entries.ok());
    ASSERT_TRUE(table_->Commit(*entries).ok());
  };
  append_only({{1, "a", 1}, {2, "b", 2}});
  // The full read skips level 0 (DataTableStreamScan): those rows come with the next changelog.
  auto stream = Stream();
  Collected c;
  EXPECT_TRUE(Drain(stream.get(), &c).empty());
  // The next write to the bucket compacts every level-0 file, the leftover ones too.
  Write({{3, "c", 3}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:a:1", "+I:2:b:2", "+I:3:c:3"}));
  EXPECT_EQ(Read(), Sorted({"1:a:1", "2:b:2", "3:c:3"}));
  // So does `millpond compact` (CompactTable), with the changelog on its COMPACT snapshot.
  append_only({{1, "a", 9}});
  auto compacted = CompactTable(*table_, /*full=*/false);
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  EXPECT_EQ(SnapshotOf(compacted->snapshot_id).changelog_record_count, 2);
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:1:a:1", "+U:1:a:9"}));
}

TEST_F(ChangelogTest, FullCompactionProducesChangelogAgainstTheTopLevel) {
  Create({{"changelog-producer", "full-compaction"}});
  Write({{1, "a", 1}, {2, "b", 2}});
  auto stream = Stream(From(1));
  Collected c;
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:a:1", "+I:2:b:2"}));
  Write({{1, "a", 5}, {2, std::nullopt, std::nullopt, "-D"}, {3, "c", 3}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:1:a:1", "+U:1:a:5", "-D:2:b:2", "+I:3:c:3"}));
  // A new stream's full read sees only the max level: everything, after a full compaction.
  auto fresh = Stream();
  Collected f;
  EXPECT_EQ(Drain(fresh.get(), &f), Sorted({"+I:1:a:5", "+I:3:c:3"}));
}

TEST_F(ChangelogTest, LookupPartialUpdateCarriesTheWholeState) {
  Create({{"changelog-producer", "lookup"}, {"merge-engine", "partial-update"}});
  auto stream = Stream(From(1));
  Collected c;
  Write({{1, "a", std::nullopt}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:a:null"}));
  Write({{1, std::nullopt, 5}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:1:a:null", "+U:1:a:5"}));
  Write({{1, "b", std::nullopt}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:1:a:5", "+U:1:b:5"}));
  for (int i = 0; i < 4; ++i) Write({{2, "x", i}});
  Drain(stream.get(), &c);
  EXPECT_EQ(Read(), Sorted({"1:b:5", "2:x:3"}));
}

TEST_F(ChangelogTest, LookupAggregationCountsEachRowOnce) {
  // Every record above level 0 holds the merged state, so reads and compactions take only the
  // lowest one (LookupMergeFunction); a plain merge of all levels would sum the old state again.
  Create({{"changelog-producer", "lookup"}, {"merge-engine", "aggregation"},
          {"fields.v.aggregate-function", "sum"}});
  auto stream = Stream(From(1));
  Collected c;
  Write({{1, "a", 1}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:a:1"}));
  Write({{1, "a", 2}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:1:a:1", "+U:1:a:3"}));
  Write({{1, "a", 3}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:1:a:3", "+U:1:a:6"}));
  for (int i = 0; i < 6; ++i) Write({{1, "a", 10}});
  Drain(stream.get(), &c);
  EXPECT_EQ(Read(), Sorted({"1:a:66"}));
  auto compacted = CompactTable(*table_, /*full=*/true);
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  EXPECT_EQ(Read(), Sorted({"1:a:66"}));
}

TEST_F(ChangelogTest, FirstRowKeepsTheFirstAndLooksUpNewKeysOnly) {
  for (std::string producer : {"none", "lookup"}) {
    std::filesystem::remove_all(dir_ / "db.db");
    Create({{"changelog-producer", producer}, {"merge-engine", "first-row"}});
    auto stream = Stream(From(1));
    Collected c;
    Write({{1, "a", 1}, {2, "b", 2}});
    // Readers skip level 0 of first-row tables: the commit's compaction makes the rows visible.
    EXPECT_EQ(Read(), Sorted({"1:a:1", "2:b:2"})) << producer;
    Write({{1, "x", 9}, {3, "c", 3}, {3, "y", 8}});
    EXPECT_EQ(Read(), Sorted({"1:a:1", "2:b:2", "3:c:3"})) << producer;
    if (producer == "lookup") {
      // Only keys that did not exist yet: +I, never an update.
      EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:a:1", "+I:2:b:2", "+I:3:c:3"}));
    }
    for (int i = 0; i < 6; ++i) Write({{1, "z", i}, {10 + i, "n", i}});
    auto rows = Read();
    EXPECT_EQ(rows.size(), 9u) << producer;
    EXPECT_NE(std::find(rows.begin(), rows.end(), "1:a:1"), rows.end()) << producer;
  }
}

TEST_F(ChangelogTest, StreamOfPrimaryKeyTableAppliesProjectionAndFilter) {
  Create({{"changelog-producer", "lookup"}});
  Write({{1, "a", 1}, {2, "b", 20}});
  auto stream = Stream(Projected({"id", "v"}, "v >= 10"));
  Collected c;
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:2:20"}));
  EXPECT_EQ(stream->output_schema()->num_fields(), 3);
  // The filter sees each changelog row's own values: -U of 1 fails it, +U passes.
  Write({{1, "a", 11}, {2, "b", 5}});
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+U:1:11", "-U:2:20"}));
}

TEST_F(ChangelogTest, ConsumerResumesTheChangelogWhereItStopped) {
  Create({{"changelog-producer", "lookup"}});
  Write({{1, "a", 1}});
  {
    auto stream = Stream(Consumer("app"));
    Collected c;
    EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:a:1"}));
    Write({{1, "a", 2}});
    EXPECT_EQ(Drain(stream.get(), &c), Sorted({"-U:1:a:1", "+U:1:a:2"}));
  }
  Write({{2, "b", 2}});
  Write({{1, std::nullopt, std::nullopt, "-D"}});
  auto resumed = Stream(Consumer("app"));
  Collected c;
  EXPECT_EQ(Drain(resumed.get(), &c), Sorted({"+I:2:b:2", "-D:1:a:2"}));
}

TEST_F(ChangelogTest, ExpirationDeletesChangelogFilesOnlyWithTheirSnapshot) {
  Create({{"changelog-producer", "input"},
          {"snapshot.num-retained.min", "1"},
          {"snapshot.time-retained", "1 ms"}});
  for (int i = 0; i < 3; ++i) Write({{i, "x", i}});
  auto all = ChangelogFiles();
  ASSERT_EQ(all.size(), 3u);
  // Orphan removal keeps every changelog file a snapshot lists.
  auto orphans = RemoveOrphanFiles(table_->file_system(), table_->path(), INT64_MAX);
  ASSERT_TRUE(orphans.ok()) << orphans.status().ToString();
  EXPECT_EQ(ChangelogFiles(), all);
  // A consumer at snapshot 2 keeps snapshots 2.. and their changelog.
  ASSERT_TRUE(ConsumerManager(table_->file_system(), table_->path()).Reset("c", 2).ok());
  auto kept = ChangelogOf(SnapshotOf(2));
  auto latest = ChangelogOf(SnapshotOf(3));
  auto expired = ExpireSnapshots(table_->file_system(), table_->path(), INT64_MAX / 2);
  ASSERT_TRUE(expired.ok()) << expired.status().ToString();
  EXPECT_EQ(expired->snapshots_expired, 1);
  std::set<std::string> expect = kept;
  expect.insert(latest.begin(), latest.end());
  EXPECT_EQ(ChangelogFiles(), expect);
  auto stream = Stream(Consumer("c"));
  Collected c;
  EXPECT_EQ(Drain(stream.get(), &c), Sorted({"+I:1:x:1", "+I:2:x:2"}));
}

TEST_F(ChangelogTest, UnknownOrMisplacedProducerIsRefused) {
  auto bad = catalog_->CreateTable("db.t", Schema({{"changelog-producer", "inputs"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown changelog-producer 'inputs'"), std::string::npos)
      << bad.status().ToString();
  auto append = catalog_->CreateTable("db.a", Schema({{"changelog-producer", "input"}},
                                                     /*primary_key=*/false));
  ASSERT_FALSE(append.ok());
  EXPECT_NE(append.status().message().find("primary-key"), std::string::npos);
  auto first_row = catalog_->CreateTable(
      "db.f", Schema({{"changelog-producer", "input"}, {"merge-engine", "first-row"}}));
  ASSERT_FALSE(first_row.ok());
  Create({});
  SchemaChange change{SchemaChange::Kind::kSetOption, "changelog-producer", "", nullptr, "lokup"};
  auto altered = table_->schemas().Alter({change});
  ASSERT_FALSE(altered.ok());
  EXPECT_NE(altered.status().message().find("unknown changelog-producer 'lokup'"),
            std::string::npos);
  change.value = "lookup";
  ASSERT_TRUE(table_->schemas().Alter({change}).ok());
}

}  // namespace
}  // namespace millpond::table
