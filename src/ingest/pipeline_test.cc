// Pipeline: commits carry source positions (identifier and snapshot property), a restart that
// replays the log writes every row exactly once even when tables committed different positions,
// and a full buffer stops the source and forces a commit.
#include "millpond/ingest/pipeline.h"

#include <unistd.h>

#include <filesystem>
#include <map>

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <gtest/gtest.h>

#include "millpond/ingest/metrics.h"

namespace millpond::ingest {
namespace {

namespace stdfs = std::filesystem;

// Messages "A:n", "B:n" or "AB:n" become rows (n) of table t.a, t.b or both.
class LetterMapper : public Mapper {
 public:
  explicit LetterMapper(std::string tables = "AB") : letters_(std::move(tables)) {}
  Status Prepare(TableSet* tables) override {
    tables_ = tables;
    paimon::TableSchema s;
    s.fields = *paimon::ParseColumns("n BIGINT, pos BIGINT");
    ARROW_ASSIGN_OR_RAISE(a_, tables->OpenOrCreate("t.a", s));
    ARROW_ASSIGN_OR_RAISE(b_, tables->OpenOrCreate("t.b", s));
    return Status::OK();
  }
  Status Map(const SourceMessage& m, MapOutput* out) override {
    auto colon = m.payload.find(':');
    std::string which = m.payload.substr(0, colon);
    int64_t n = std::stoll(m.payload.substr(colon + 1));
    for (char c : which) {
      if (letters_.find(c) == std::string::npos) continue;
      out->rows.push_back({c == 'A' ? a_ : b_, {Value(n), Value(m.position)}});
    }
    return Status::OK();
  }

 private:
  std::string letters_;
  TableSet* tables_ = nullptr;
  int a_ = -1, b_ = -1;
};

// Delivers a fixed log of messages, only while the sink has room.
class LogSource : public Source {
 public:
  LogSource(std::vector<std::string> payloads, int64_t first_position = 1)
      : payloads_(std::move(payloads)), first_(first_position) {}
  const std::string& id() const override { return id_; }
  Status Run(int64_t floor, Sink* sink, const std::atomic<bool>& stop) override {
    floor_seen = floor;
    for (size_t i = 0; i < payloads_.size(); ++i) {
      while (!sink->HasRoom()) {
        saw_full = true;
        if (stop.load()) return Status::OK();
        sink->WaitForRoom(std::chrono::milliseconds(50));
      }
      SourceMessage m;
      m.position = first_ + static_cast<int64_t>(i);
      m.received_micros = 1;
      m.payload = payloads_[i];
      ARROW_RETURN_NOT_OK(sink->Deliver(m, nullptr));
    }
    return Status::OK();
  }
  void Committed(int64_t position) override { committed.store(position); }

  bool saw_full = false;
  int64_t floor_seen = -1;
  std::atomic<int64_t> committed{0};

 private:
  std::string id_ = "line-1";
  std::vector<std::string> payloads_;
  int64_t first_;
};

class PipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(arrow::compute::Initialize().ok()); }
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() /
           ("mp-pipe-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::remove_all(dir_);
    catalog_ = *table::Catalog::Open(dir_.string(), true);
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  Status RunPipeline(LogSource* source, Mapper* mapper, PipelineOptions o,
                     IngestMetrics* metrics = nullptr) {
    ARROW_ASSIGN_OR_RAISE(auto p, Pipeline::Make(catalog_.get(), source, mapper, o, metrics));
    std::atomic<bool> stop{false};
    return p->Run(stop);
  }

  // n -> how many times it is in the table.
  std::map<int64_t, int> Counts(const std::string& name) {
    std::map<int64_t, int> counts;
    auto t = *catalog_->GetTable(name);
    auto all = (*t->NewScan({}))->ReadAll();
    EXPECT_TRUE(all.ok()) << all.status();
    auto col = (*all)->GetColumnByName("n");
    for (const auto& chunk : col->chunks()) {
      auto a = std::static_pointer_cast<arrow::Int64Array>(chunk);
      for (int64_t i = 0; i < a->length(); ++i) counts[a->Value(i)]++;
    }
    return counts;
  }

  std::vector<paimon::Snapshot> Snapshots(const std::string& name) {
    auto t = *catalog_->GetTable(name);
    std::vector<paimon::Snapshot> out;
    for (int64_t id : *t->snapshots().ListSnapshotIds()) {
      out.push_back(*t->snapshots().ReadSnapshot(id));
    }
    return out;
  }

  static std::vector<std::string> Messages(const std::string& letters, int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i <= to; ++i) out.push_back(letters + ":" + std::to_string(i));
    return out;
  }

  stdfs::path dir_;
  std::unique_ptr<table::Catalog> catalog_;
};

TEST_F(PipelineTest, EachCommitIsOneSnapshotPerTableCarryingThePosition) {
  LogSource source(Messages("AB", 1, 95));
  LetterMapper mapper;
  PipelineOptions o;
  o.commit_rows = 20;  // rows over both tables
  o.commit_interval_ms = 3600000;
  IngestMetrics metrics("line-1");
  ASSERT_TRUE(RunPipeline(&source, &mapper, o, &metrics).ok());
  for (const char* name : {"t.a", "t.b"}) {
    auto counts = Counts(name);
    ASSERT_EQ(counts.size(), 95u) << name;
    for (const auto& [n, c] : counts) EXPECT_EQ(c, 1) << name << " n=" << n;
    auto snaps = Snapshots(name);
    ASSERT_EQ(snaps.size(), 10u) << name;  // 9 commits of 10 messages, the rest at the end
    int64_t previous = 0;
    for (const auto& s : snaps) {
      EXPECT_EQ(s.commit_user, "millpond-ingest-line-1");
      EXPECT_GT(s.commit_identifier, previous);
      previous = s.commit_identifier;
      ASSERT_TRUE(s.properties.has_value());
      EXPECT_EQ(s.properties->at("millpond.ingest.line-1.position"),
                std::to_string(s.commit_identifier));
    }
    EXPECT_EQ(previous, 95);
  }
  EXPECT_EQ(source.committed.load(), 95);
  std::string text = metrics.Text();
  EXPECT_NE(text.find("millpond_ingest_rows_committed_total{role=\"data\",source=\"line-1\","
                      "table=\"t.a\"} 95"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("millpond_ingest_commit_seconds_count{source=\"line-1\"} 10"),
            std::string::npos)
      << text;
}

TEST_F(PipelineTest, ReplayAfterAPartialCommitWritesEveryRowOnce) {
  // Run 1 commits messages 1..30 to both tables.
  {
    LogSource source(Messages("AB", 1, 30));
    LetterMapper mapper;
    ASSERT_TRUE(RunPipeline(&source, &mapper, {}).ok());
  }
  // Run 2 crashed between the two tables of one commit: 31..50 reached t.a only.
  {
    LogSource source(Messages("AB", 31, 50), 31);
    LetterMapper only_a("A");
    ASSERT_TRUE(RunPipeline(&source, &only_a, {}).ok());
  }
  // Run 3 replays the whole log (1..50) and goes on with 51..70.
  LogSource source(Messages("AB", 1, 70));
  LetterMapper mapper;
  PipelineOptions o;
  o.commit_rows = 7;
  ASSERT_TRUE(RunPipeline(&source, &mapper, o).ok());
  EXPECT_EQ(source.floor_seen, 50);  // new positions must start above every table's
  for (const char* name : {"t.a", "t.b"}) {
    auto counts = Counts(name);
    ASSERT_EQ(counts.size(), 70u) << name;
    for (const auto& [n, c] : counts) EXPECT_EQ(c, 1) << name << " n=" << n;
  }
  auto a = Snapshots("t.a");
  EXPECT_EQ(a.back().properties->at("millpond.ingest.line-1.position"), "70");
}

TEST_F(PipelineTest, AFullBufferStopsTheSourceAndCommits) {
  LogSource source(Messages("A", 1, 500));
  LetterMapper mapper;
  PipelineOptions o;
  o.buffer_rows = 20;
  o.commit_rows = 1000000;           // never reached...
  o.commit_interval_ms = 3600000;    // ...nor this: only the full buffer commits
  ASSERT_TRUE(RunPipeline(&source, &mapper, o).ok());
  EXPECT_TRUE(source.saw_full);
  auto snaps = Snapshots("t.a");
  ASSERT_EQ(snaps.size(), 25u);
  for (const auto& s : snaps) EXPECT_EQ(s.delta_record_count.value_or(-1), 20);
  EXPECT_EQ(Counts("t.a").size(), 500u);
}

TEST_F(PipelineTest, BadOptionsAreRefused) {
  LogSource source({});
  LetterMapper mapper;
  PipelineOptions o;
  o.commit_rows = 0;
  EXPECT_FALSE(Pipeline::Make(catalog_.get(), &source, &mapper, o).ok());
  o = {};
  o.buffer_rows = 0;
  EXPECT_FALSE(Pipeline::Make(catalog_.get(), &source, &mapper, o).ok());
}

}  // namespace
}  // namespace millpond::ingest
