// WriteAheadLog: replay after reopen, torn tails, damaged segments, truncation with pinned
// records, one writer per folder.
#include "millpond/ingest/wal.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace millpond::ingest {
namespace {

namespace stdfs = std::filesystem;

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() /
           ("mp-wal-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::remove_all(dir_);
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  static WalRecord Rec(int64_t pos, const std::string& payload = "") {
    WalRecord r;
    r.position = pos;
    r.received_micros = 1000 + pos;
    r.tag = static_cast<uint32_t>(pos % 65536);
    r.address = "plant/line" + std::to_string(pos % 3);
    r.payload = payload.empty() ? "payload-" + std::to_string(pos) : payload;
    return r;
  }

  std::vector<WalRecord> ReplayAll(const WriteAheadLog& wal) {
    std::vector<WalRecord> out;
    EXPECT_TRUE(wal.Replay([&](const WalRecord& r) {
                     out.push_back(r);
                     return Status::OK();
                   })
                    .ok());
    return out;
  }

  std::vector<stdfs::path> Segments() {
    std::vector<stdfs::path> out;
    for (const auto& e : stdfs::directory_iterator(dir_)) {
      if (e.path().filename().string().rfind("wal-", 0) == 0) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  stdfs::path dir_;
};

TEST_F(WalTest, ReplaysWhatWasFlushedAfterReopen) {
  {
    auto wal = WriteAheadLog::Open(dir_.string(), {});
    ASSERT_TRUE(wal.ok()) << wal.status();
    for (int64_t p = 1; p <= 100; ++p) ASSERT_TRUE((*wal)->Append(Rec(p)).ok());
    ASSERT_TRUE((*wal)->Flush().ok());
    EXPECT_EQ((*wal)->last_position(), 100);
  }
  auto wal = WriteAheadLog::Open(dir_.string(), {});
  ASSERT_TRUE(wal.ok()) << wal.status();
  EXPECT_EQ((*wal)->last_position(), 100);
  auto recs = ReplayAll(**wal);
  ASSERT_EQ(recs.size(), 100u);
  for (int64_t p = 1; p <= 100; ++p) {
    const auto& r = recs[p - 1];
    EXPECT_EQ(r.position, p);
    EXPECT_EQ(r.received_micros, 1000 + p);
    EXPECT_EQ(r.tag, static_cast<uint32_t>(p));
    EXPECT_EQ(r.address, Rec(p).address);
    EXPECT_EQ(r.payload, Rec(p).payload);
  }
  // Positions must keep increasing across the reopen.
  EXPECT_FALSE((*wal)->Append(Rec(100)).ok());
  EXPECT_TRUE((*wal)->Append(Rec(101)).ok());
}

TEST_F(WalTest, BinaryPayloadsAndEmptyOnesSurvive) {
  std::string binary("\0\x01\xff\x80 sparkplug", 14);
  {
    auto wal = *WriteAheadLog::Open(dir_.string(), {});
    ASSERT_TRUE(wal->Append(Rec(1, binary)).ok());
    WalRecord empty = Rec(2);
    empty.payload.clear();
    ASSERT_TRUE(wal->Append(empty).ok());
    ASSERT_TRUE(wal->Flush().ok());
  }
  auto wal = *WriteAheadLog::Open(dir_.string(), {});
  auto recs = ReplayAll(*wal);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].payload, binary);
  EXPECT_EQ(recs[1].payload, "");
}

TEST_F(WalTest, TornTailIsCutOffAndAppendsContinue) {
  {
    auto wal = *WriteAheadLog::Open(dir_.string(), {});
    for (int64_t p = 1; p <= 10; ++p) ASSERT_TRUE(wal->Append(Rec(p)).ok());
    ASSERT_TRUE(wal->Flush().ok());
  }
  // A crash in the middle of writing record 11: half of it reached the file.
  auto segs = Segments();
  ASSERT_EQ(segs.size(), 1u);
  std::string partial = EncodeWalRecord(Rec(11));
  {
    std::ofstream out(segs[0], std::ios::app | std::ios::binary);
    out.write(partial.data(), static_cast<std::streamsize>(partial.size() / 2));
  }
  auto before = stdfs::file_size(segs[0]);
  {
    auto wal = WriteAheadLog::Open(dir_.string(), {});
    ASSERT_TRUE(wal.ok()) << wal.status();
    EXPECT_EQ((*wal)->last_position(), 10);
    EXPECT_LT(stdfs::file_size(segs[0]), before);
    ASSERT_TRUE((*wal)->Append(Rec(11)).ok());
    ASSERT_TRUE((*wal)->Flush().ok());
  }
  auto wal = *WriteAheadLog::Open(dir_.string(), {});
  auto recs = ReplayAll(*wal);
  ASSERT_EQ(recs.size(), 11u);
  EXPECT_EQ(recs.back().position, 11);
  EXPECT_EQ(recs.back().payload, Rec(11).payload);
}

TEST_F(WalTest, DamageInAnOlderSegmentIsAnError) {
  WriteAheadLog::Options o;
  o.segment_bytes = 200;  // a few records per segment
  {
    auto wal = *WriteAheadLog::Open(dir_.string(), o);
    for (int64_t p = 1; p <= 30; ++p) {
      ASSERT_TRUE(wal->Append(Rec(p)).ok());
      ASSERT_TRUE(wal->Flush().ok());
    }
  }
  auto segs = Segments();
  ASSERT_GT(segs.size(), 3u);
  {
    std::fstream f(segs[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(12);
    f.put('X');  // inside the first record's body: its CRC no longer matches
  }
  auto wal = WriteAheadLog::Open(dir_.string(), o);
  ASSERT_FALSE(wal.ok());
  EXPECT_NE(wal.status().message().find(segs[1].filename().string()), std::string::npos)
      << wal.status();
}

TEST_F(WalTest, TruncateDropsCommittedSegmentsAndKeepsPinnedRecords) {
  WriteAheadLog::Options o;
  o.segment_bytes = 300;
  auto wal = *WriteAheadLog::Open(dir_.string(), o);
  for (int64_t p = 1; p <= 60; ++p) {
    ASSERT_TRUE(wal->Append(Rec(p)).ok());
    ASSERT_TRUE(wal->Flush().ok());
  }
  size_t before = Segments().size();
  ASSERT_GT(before, 5u);
  // Record 3 is state later messages need (a birth): it must outlive its segment.
  ASSERT_TRUE(wal->Truncate(40, {Rec(3, "birth-3")}).ok());
  EXPECT_LT(Segments().size(), before);
  auto recs = ReplayAll(*wal);
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs[0].position, 3);
  EXPECT_EQ(recs[0].payload, "birth-3");
  // Every message after 40 is still there, in order; nothing at or before 40 but the pinned one
  // and the rest of the segment holding 41.
  std::vector<int64_t> positions;
  for (size_t i = 1; i < recs.size(); ++i) positions.push_back(recs[i].position);
  ASSERT_FALSE(positions.empty());
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
  EXPECT_EQ(positions.back(), 60);
  EXPECT_LE(positions.front(), 41);
  EXPECT_GT(positions.front(), 30);  // older segments went
  EXPECT_EQ(std::count(positions.begin(), positions.end(), 41), 1);

  // The pinned record survives a reopen; a later truncation that no longer pins it drops it.
  wal.reset();
  wal = *WriteAheadLog::Open(dir_.string(), o);
  recs = ReplayAll(*wal);
  EXPECT_EQ(recs[0].payload, "birth-3");
  ASSERT_TRUE(wal->Truncate(60, {}).ok());
  recs = ReplayAll(*wal);
  for (const auto& r : recs) EXPECT_NE(r.payload, "birth-3");
  EXPECT_EQ(wal->last_position(), 60);
}

TEST_F(WalTest, FullyCommittedOpenSegmentRollsOnceLarge) {
  auto wal = *WriteAheadLog::Open(dir_.string(), {});
  std::string big(4096, 'x');
  for (int64_t p = 1; p <= 300; ++p) ASSERT_TRUE(wal->Append(Rec(p, big)).ok());
  ASSERT_TRUE(wal->Flush().ok());
  ASSERT_GT(wal->bytes(), 1 << 20);
  ASSERT_TRUE(wal->Truncate(300, {}).ok());
  EXPECT_LT(wal->bytes(), 4096);
  EXPECT_TRUE(ReplayAll(*wal).empty());
  EXPECT_EQ(wal->last_position(), 300);
  ASSERT_TRUE(wal->Append(Rec(301)).ok());
}

TEST_F(WalTest, OneWriterPerFolder) {
  auto first = WriteAheadLog::Open(dir_.string(), {});
  ASSERT_TRUE(first.ok());
  auto second = WriteAheadLog::Open(dir_.string(), {});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use"), std::string::npos) << second.status();
  first->reset();
  EXPECT_TRUE(WriteAheadLog::Open(dir_.string(), {}).ok());
}

}  // namespace
}  // namespace millpond::ingest
