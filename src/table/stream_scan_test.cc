// StreamScan tests on a real local warehouse: full read then follow, --from-snapshot, consumer
// progress and resume, COMPACT snapshots skipped, expiration honouring consumers, a committer
// racing the stream, and stopping. Primary-key tables: changelog_test.cc.
#include "table_test_util.h"
#include "millpond/table/stream_scan.h"

#include <filesystem>
#include <thread>

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <gtest/gtest.h>

#include "millpond/table/catalog.h"
#include "millpond/table/maintenance.h"

namespace millpond::table {
namespace {

class FakeClock : public Clock {
 public:
  int64_t NowMillis() override { return now_; }
  void SleepMillis(int64_t millis) override { now_ += millis; }
  int64_t now_ = 1'000'000;
};

// Collects streamed rows as "<kind>:<id>" strings and the snapshots ended.
struct Collected {
  std::vector<std::string> rows;
  std::vector<int64_t> snapshots;
  StreamSink Sink() {
    StreamSink s;
    s.write = [this](const std::shared_ptr<arrow::RecordBatch>& b) {
      EXPECT_EQ(b->schema()->field(0)->name(), kRowKindColumn);
      auto kinds = std::static_pointer_cast<arrow::StringArray>(b->column(0));
      auto ids = std::static_pointer_cast<arrow::Int64Array>(b->GetColumnByName("id"));
      for (int64_t i = 0; i < b->num_rows(); ++i) {
        rows.push_back(kinds->GetString(i) + ":" + std::to_string(ids->Value(i)));
      }
      return Status::OK();
    };
    s.end_snapshot = [this](int64_t id) {
      snapshots.push_back(id);
      return Status::OK();
    };
    return s;
  }
};

std::vector<std::string> Inserts(int64_t first, int64_t n) {
  std::vector<std::string> out;
  for (int64_t i = first; i < first + n; ++i) out.push_back("+I:" + std::to_string(i));
  return out;
}

class StreamScanTest : public WarehouseTest {
 protected:
  StreamScanTest() : WarehouseTest("millpond_stream_test_") {}

  void SetUp() override {
    WarehouseTest::SetUp();
    paimon::TableSchema s;
    for (auto [name, type] : std::vector<std::pair<std::string, std::string>>{
             {"id", "BIGINT NOT NULL"}, {"line", "STRING"}, {"value", "INT"}}) {
      paimon::DataField f;
      f.name = name;
      f.type = *paimon::ParseDataType(type);
      s.fields.push_back(f);
    }
    s.partition_keys = {"line"};
    s.options = {{"snapshot.num-retained.min", "1"}, {"snapshot.time-retained", "1 ms"}};
    auto t = catalog_->CreateTable("db.t", s);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    table_ = std::move(*t);
  }
  static std::shared_ptr<arrow::RecordBatch> Batch(int64_t first, int64_t n) {
    return IdLineValueBatch(first, n, /*lines=*/2);
  }

  // Writes rows [first, first + n) as one commit; returns the snapshot id.
  int64_t WriteCommit(int64_t first, int64_t n) {
    auto w = table_->NewWriter();
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_TRUE((*w)->Write(Batch(first, n)).ok());
    auto entries = (*w)->PrepareCommit();
    EXPECT_TRUE(entries.ok());
    auto id = table_->Commit(*entries);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : -1;
  }

  std::unique_ptr<StreamScan> Stream(StreamOptions o) {
    auto s = StreamScan::Make(table_->file_system(), table_->path(), std::move(o), &clock_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Polls until nothing new is left.
  static void Drain(StreamScan* s, Collected* c) {
    auto sink = c->Sink();
    while (true) {
      auto r = s->PollOnce(sink);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (!*r) break;
    }
  }

  // One commit's rows are split across partition files, so rows compare as multisets.
  static std::vector<std::string> Sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }

  std::optional<int64_t> ConsumerNext(const std::string& id) {
    auto r = ConsumerManager(table_->file_system(), table_->path()).NextSnapshot(id);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }

  std::unique_ptr<Table> table_;
  FakeClock clock_;
};

TEST_F(StreamScanTest, FullReadOfLatestThenEachNewSnapshot) {
  WriteCommit(0, 10);
  WriteCommit(10, 10);
  auto s = Stream({});
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->full_read_pending());
  EXPECT_EQ(s->output_schema()->field(0)->name(), "_ROW_KIND");
  EXPECT_EQ(s->output_schema()->num_fields(), 4);
  Collected c;
  Drain(s.get(), &c);
  EXPECT_EQ(Sorted(c.rows), Sorted(Inserts(0, 20)));
  EXPECT_EQ(c.snapshots, std::vector<int64_t>({2}));
  EXPECT_EQ(s->next_snapshot(), 3);
  WriteCommit(20, 5);
  WriteCommit(25, 5);
  c = Collected();
  Drain(s.get(), &c);
  // Snapshot 3's rows all come before snapshot 4's.
  ASSERT_EQ(c.rows.size(), 10u);
  EXPECT_EQ(Sorted({c.rows.begin(), c.rows.begin() + 5}), Sorted(Inserts(20, 5)));
  EXPECT_EQ(Sorted({c.rows.begin() + 5, c.rows.end()}), Sorted(Inserts(25, 5)));
  EXPECT_EQ(c.snapshots, std::vector<int64_t>({3, 4}));
}

TEST_F(StreamScanTest, EmptyTableStreamsFromTheFirstCommit) {
  auto s = Stream({});
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->full_read_pending());
  Collected c;
  Drain(s.get(), &c);
  EXPECT_TRUE(c.rows.empty());
  WriteCommit(0, 3);
  Drain(s.get(), &c);
  EXPECT_EQ(Sorted(c.rows), Sorted(Inserts(0, 3)));
}

TEST_F(StreamScanTest, FromSnapshotStartsWithItsDelta) {
  WriteCommit(0, 4);
  WriteCommit(4, 4);
  WriteCommit(8, 4);
  StreamOptions o;
  o.from_snapshot = 2;
  auto s = Stream(o);
  ASSERT_TRUE(s);
  Collected c;
  Drain(s.get(), &c);
  EXPECT_EQ(Sorted(c.rows), Sorted(Inserts(4, 8)));
  EXPECT_EQ(c.snapshots, std::vector<int64_t>({2, 3}));
  // A start beyond the latest waits for it.
  o.from_snapshot = 5;
  auto later = Stream(o);
  ASSERT_TRUE(later);
  Collected c2;
  Drain(later.get(), &c2);
  EXPECT_TRUE(c2.rows.empty());
  WriteCommit(12, 1);  // snapshot 4: not streamed
  WriteCommit(13, 1);  // snapshot 5
  Drain(later.get(), &c2);
  EXPECT_EQ(c2.rows, Inserts(13, 1));
}

TEST_F(StreamScanTest, ProjectionAndFilter) {
  WriteCommit(0, 10);
  StreamOptions o;
  o.from_snapshot = 1;
  o.columns = {"id"};
  o.where = "value >= 50";
  auto s = Stream(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->output_schema()->ToString(), "_ROW_KIND: string not null\nid: int64");
  Collected c;
  Drain(s.get(), &c);
  EXPECT_EQ(Sorted(c.rows), Sorted(Inserts(5, 5)));
  StreamOptions bad;
  bad.columns = {"nope"};
  EXPECT_FALSE(StreamScan::Make(table_->file_system(), table_->path(), bad, &clock_).ok());
}

TEST_F(StreamScanTest, ConsumerRecordsProgressAndResumes) {
  WriteCommit(0, 5);
  StreamOptions o;
  o.consumer_id = "reader-1";
  {
    auto s = Stream(o);
    ASSERT_TRUE(s);
    EXPECT_EQ(ConsumerNext("reader-1"), 1);  // pinned before the first read
    Collected c;
    Drain(s.get(), &c);
    EXPECT_EQ(Sorted(c.rows), Sorted(Inserts(0, 5)));
    EXPECT_EQ(ConsumerNext("reader-1"), 2);
    WriteCommit(5, 5);
    Drain(s.get(), &c);
    EXPECT_EQ(ConsumerNext("reader-1"), 3);
  }
  std::string text =
      *table_->file_system()->ReadFile(table_->path() + "/consumer/consumer-reader-1");
  EXPECT_EQ(text, "{\"nextSnapshot\":3}");
  // While stopped, two more commits; a restart resumes after the last snapshot handed over,
  // without a full read and regardless of --from-snapshot.
  WriteCommit(10, 5);
  WriteCommit(15, 5);
  o.from_snapshot = 1;
  auto s = Stream(o);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->full_read_pending());
  EXPECT_EQ(s->next_snapshot(), 3);
  Collected c;
  Drain(s.get(), &c);
  EXPECT_EQ(Sorted(c.rows), Sorted(Inserts(10, 10)));
  EXPECT_EQ(ConsumerNext("reader-1"), 5);
  EXPECT_FALSE(ConsumerManager::ValidateId("../x").ok());
  EXPECT_FALSE(ConsumerManager::ValidateId("").ok());
}

TEST_F(StreamScanTest, ConsumerIsNotAdvancedWhenTheSinkFails) {
  WriteCommit(0, 5);
  StreamOptions o;
  o.consumer_id = "c";
  o.from_snapshot = 1;
  auto s = Stream(o);
  ASSERT_TRUE(s);
  StreamSink failing;
  failing.write = [](const std::shared_ptr<arrow::RecordBatch>&) { return Status::IOError("pipe"); };
  EXPECT_FALSE(s->PollOnce(failing).ok());
  EXPECT_EQ(ConsumerNext("c"), 1);
}

TEST_F(StreamScanTest, CompactSnapshotsAreSkipped) {
  WriteCommit(0, 6);  // snapshot 1
  // A COMPACT snapshot that rewrites snapshot 1's files: same rows, new files.
  auto live = table_->NewScan({});
  ASSERT_TRUE(live.ok());
  std::vector<paimon::ManifestEntry> entries;
  for (auto e : (*live)->plan().files) {
    e.kind = paimon::FileKind::kDelete;
    entries.push_back(e);
  }
  auto w = table_->NewWriter();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(Batch(0, 6)).ok());
  auto added = (*w)->PrepareCommit();
  ASSERT_TRUE(added.ok());
  entries.insert(entries.end(), added->begin(), added->end());
  CommitOptions compact;
  compact.commit_kind = "COMPACT";
  auto id = table_->Commit(entries, compact);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, 2);
  WriteCommit(6, 2);  // snapshot 3
  StreamOptions o;
  o.from_snapshot = 1;
  auto s = Stream(o);
  ASSERT_TRUE(s);
  Collected c;
  Drain(s.get(), &c);
  EXPECT_EQ(Sorted(c.rows), Sorted(Inserts(0, 8)));  // no duplicates from the rewrite
  EXPECT_EQ(c.snapshots, std::vector<int64_t>({1, 2, 3}));
}

TEST_F(StreamScanTest, ExpirationKeepsWhatAConsumerNeeds) {
  for (int i = 0; i < 5; ++i) WriteCommit(i * 2, 2);  // snapshots 1..5
  ASSERT_TRUE(ConsumerManager(table_->file_system(), table_->path()).Reset("slow", 3).ok());
  auto r = ExpireSnapshots(table_->file_system(), table_->path(), /*now_millis=*/INT64_MAX / 2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto ids = table_->snapshots().ListSnapshotIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, std::vector<int64_t>({3, 4, 5}));
  StreamOptions o;
  o.consumer_id = "slow";
  auto s = Stream(o);
  ASSERT_TRUE(s);
  Collected c;
  Drain(s.get(), &c);
  EXPECT_EQ(Sorted(c.rows), Sorted(Inserts(4, 6)));
  // A start that was expired is refused rather than silently skipped.
  StreamOptions gone;
  gone.from_snapshot = 1;
  auto bad = StreamScan::Make(table_->file_system(), table_->path(), gone, &clock_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("expired"), std::string::npos) << bad.status().ToString();
}

TEST_F(StreamScanTest, StreamKeepsUpWithAConcurrentCommitter) {
  WriteCommit(0, 3);  // read in full first
  constexpr int kCommits = 8;
  constexpr int64_t kRows = 7;
  StreamOptions o;
  o.interval_millis = 5;
  o.until_idle_millis = 60'000;  // safety net only; the sink stops the stream
  o.consumer_id = "live";
  auto made = StreamScan::Make(table_->file_system(), table_->path(), o, Clock::Default());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  auto s = std::move(*made);
  std::thread committer([&] {
    for (int i = 0; i < kCommits; ++i) {
      WriteCommit(3 + i * kRows, kRows);
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  });
  Collected c;
  std::atomic<bool> stop{false};
  StreamSink sink = c.Sink();
  auto inner_end = sink.end_snapshot;
  sink.end_snapshot = [&](int64_t id) {
    ARROW_RETURN_NOT_OK(inner_end(id));
    if (id == 1 + kCommits) stop.store(true);
    return Status::OK();
  };
  Status st = s->Run(sink, &stop);
  committer.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(c.rows.size(), static_cast<size_t>(3 + kCommits * kRows));
  EXPECT_EQ(Sorted({c.rows.begin(), c.rows.begin() + 3}), Sorted(Inserts(0, 3)));
  for (int i = 0; i < kCommits; ++i) {
    auto b = c.rows.begin() + 3 + i * kRows;
    EXPECT_EQ(Sorted({b, b + kRows}), Sorted(Inserts(3 + i * kRows, kRows))) << "commit " << i;
  }
  EXPECT_EQ(ConsumerNext("live"), 2 + kCommits);
}

TEST_F(StreamScanTest, UntilIdleStopsABoundedStream) {
  WriteCommit(0, 2);
  StreamOptions o;
  o.interval_millis = 1000;
  o.until_idle_millis = 5000;
  auto s = Stream(o);
  ASSERT_TRUE(s);
  Collected c;
  int64_t start = clock_.now_;
  ASSERT_TRUE(s->Run(c.Sink()).ok());
  EXPECT_EQ(c.rows.size(), 2u);
  EXPECT_GE(clock_.now_ - start, 5000);
  EXPECT_LE(clock_.now_ - start, 6000);
}

}  // namespace
}  // namespace millpond::table
