// Garbage collection: grace periods, touches, shared chunks, pack rewrites, orphans, the
// mark/lease protocol step by step, and a concurrent writer that must never lose a blob.
#include <fstream>
#include <set>
#include <thread>

#include "blob_test_util.h"
#include "millpond/blob/gc.h"
#include "millpond/blob/inspect.h"

namespace millpond::blob {
namespace {

using testing::BlobTest;
using testing::kDay;
using testing::kHour;
using testing::LogText;
using testing::RandomBytes;

class BlobGcTest : public BlobTest {
 protected:
  void SetUp() override {
    BlobTest::SetUp();
    options_.average_chunk_size = 1024;
    options_.small_blob_threshold = 1024;
    options_.target_pack_size = 256 * 1024;
  }
  Result<GcReport> Gc(const std::set<BlobId>& live, int64_t grace = kHour,
                      bool dry_run = false) {
    GcOptions o;
    o.grace_millis = grace;
    o.dry_run = dry_run;
    return CollectGarbage(
        fs_, root_,
        [&](const std::function<void(const BlobId&)>& add) {
          for (const auto& id : live) add(id);
          return Status::OK();
        },
        o, options_);
  }
  bool Has(const BlobId& id) {
    auto s = OpenStore();
    return s.ok() && (*s)->Contains(id).ValueOr(false);
  }
  int64_t PackBytes() { return ComputeStats(fs_, root_, options_)->pack_bytes; }
  void ExpectVerified() {
    auto r = VerifyStore(fs_, root_, {}, options_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->ok()) << r->problems.front();
  }
};

TEST_F(BlobGcTest, DeletesDeadBlobsKeepsLiveAndRecentOnes) {
  std::string a = RandomBytes(40000, 1), b = RandomBytes(40000, 2), c = LogText(40000, 3);
  std::string d = RandomBytes(40000, 4);
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    for (const auto* x : {&a, &b, &c}) MP_ASSERT_OK(store->Put(*x).status());
    MP_ASSERT_OK(store->Flush());
    clock_.Advance(10 * kHour);
    MP_ASSERT_OK(store->Put(d).status());  // recent: protected by the grace period
    MP_ASSERT_OK(store->Flush());
  }
  const int64_t before = PackBytes();
  MP_ASSERT_OK_AND_ASSIGN(auto dry, Gc({BlobId::Of(a)}, kHour, /*dry_run=*/true));
  EXPECT_EQ(dry.blobs_deleted, 2);
  EXPECT_EQ(PackBytes(), before);
  EXPECT_TRUE(Has(BlobId::Of(b)));

  MP_ASSERT_OK_AND_ASSIGN(auto r, Gc({BlobId::Of(a)}));
  EXPECT_EQ(r.blobs, 4);
  EXPECT_EQ(r.live_blobs, 1);
  EXPECT_EQ(r.dead_blobs, 2);
  EXPECT_EQ(r.blobs_deleted, 2);
  EXPECT_EQ(r.blobs_deferred, 0);
  EXPECT_TRUE(Has(BlobId::Of(a)));
  EXPECT_FALSE(Has(BlobId::Of(b)));
  EXPECT_FALSE(Has(BlobId::Of(c)));
  EXPECT_TRUE(Has(BlobId::Of(d)));
  EXPECT_LT(PackBytes(), before * 3 / 4);  // the first pack was mostly dead: rewritten
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  EXPECT_EQ(ReadAll(*store, BlobId::Of(a)), a);
  EXPECT_EQ(ReadAll(*store, BlobId::Of(d)), d);
  ExpectVerified();
  // Nothing left to do: a second run deletes nothing and keeps one segment.
  MP_ASSERT_OK_AND_ASSIGN(auto again, Gc({BlobId::Of(a)}));
  EXPECT_EQ(again.blobs_deleted, 0);
  EXPECT_EQ(again.packs_deleted + again.packs_rewritten, 0);
}

TEST_F(BlobGcTest, ARePutRestartsTheGracePeriod) {
  std::string b = RandomBytes(30000, 7);
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put(b).status());
    MP_ASSERT_OK(store->Flush());
  }
  clock_.Advance(2 * kDay);
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put(b).status());  // dedup: a touch
    MP_ASSERT_OK(store->Flush());
  }
  MP_ASSERT_OK_AND_ASSIGN(auto r, Gc({}, kHour));
  EXPECT_EQ(r.blobs_deleted, 0);
  EXPECT_TRUE(Has(BlobId::Of(b)));
  clock_.Advance(2 * kHour);
  MP_ASSERT_OK_AND_ASSIGN(auto later, Gc({}, kHour));
  EXPECT_EQ(later.blobs_deleted, 1);
  EXPECT_FALSE(Has(BlobId::Of(b)));
}

TEST_F(BlobGcTest, ChunksSharedWithALiveBlobSurvive) {
  std::string x = RandomBytes(200000, 9);
  std::string edited = x.substr(0, 100000) + "EDIT" + x.substr(100000);
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put(x).status());
    MP_ASSERT_OK(store->Put(edited).status());
    MP_ASSERT_OK(store->Flush());
  }
  clock_.Advance(kDay);
  MP_ASSERT_OK_AND_ASSIGN(auto r, Gc({BlobId::Of(edited)}));
  EXPECT_EQ(r.blobs_deleted, 1);
  EXPECT_LT(r.chunks_deleted, 10);  // only the chunks around the edit were x's alone
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  EXPECT_EQ(ReadAll(*store, BlobId::Of(edited)), edited);
  EXPECT_FALSE(Has(BlobId::Of(x)));
  ExpectVerified();
}

TEST_F(BlobGcTest, PacksWithLittleLiveDataAreRewrittenOrDropped) {
  std::vector<std::string> blobs;
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    for (int i = 0; i < 8; ++i) {
      blobs.push_back(RandomBytes(25000, 100 + i));
      MP_ASSERT_OK(store->Put(blobs.back()).status());
    }
    MP_ASSERT_OK(store->Flush());
  }
  clock_.Advance(kDay);
  MP_ASSERT_OK_AND_ASSIGN(auto r, Gc({BlobId::Of(blobs[3])}));
  EXPECT_EQ(r.blobs_deleted, 7);
  EXPECT_EQ(r.packs_rewritten, 1);
  EXPECT_EQ(r.packs_written, 1);
  EXPECT_LT(r.pack_bytes_after, r.pack_bytes_before / 4);
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  EXPECT_EQ(ReadAll(*store, BlobId::Of(blobs[3])), blobs[3]);
  MP_ASSERT_OK_AND_ASSIGN(auto none, Gc({}));
  EXPECT_EQ(none.packs_deleted, 1);
  EXPECT_EQ(none.pack_bytes_after, 0);
}

TEST_F(BlobGcTest, OrphanPacksOfCrashedWritersGoAfterTheGrace) {
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put(RandomBytes(5000, 1)).status());
    MP_ASSERT_OK(store->Flush());
  }
  // A pack no segment names (its writer died before Flush), written long ago.
  auto packs = dir_ / "_blobs" / "hot" / "packs";
  auto orphan = packs / ("pack-" + std::string(32, 'a') + ".mpk");
  std::filesystem::copy_file(std::filesystem::directory_iterator(packs)->path(), orphan);
  MP_ASSERT_OK_AND_ASSIGN(auto young, Gc({}, kHour));
  EXPECT_EQ(young.orphan_packs_deleted, 0);
  EXPECT_TRUE(std::filesystem::exists(orphan));
  std::filesystem::last_write_time(orphan, std::filesystem::file_time_type::clock::now() -
                                               std::chrono::hours(3));
  MP_ASSERT_OK_AND_ASSIGN(auto old, Gc({}, kHour));
  EXPECT_EQ(old.orphan_packs_deleted, 1);
  EXPECT_FALSE(std::filesystem::exists(orphan));
}

TEST_F(BlobGcTest, AWriterThatHasNotSeenTheMarkHoldsTheSweepBack) {
  std::string old = RandomBytes(30000, 21);
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put(old).status());
    MP_ASSERT_OK(store->Flush());
  }
  clock_.Advance(kDay);
  // A writer is active (it holds a lease) and has loaded no mark yet.
  MP_ASSERT_OK_AND_ASSIGN(auto writer, OpenStore());
  MP_ASSERT_OK(writer->Put(RandomBytes(3000, 22)).status());
  MP_ASSERT_OK_AND_ASSIGN(auto r1, Gc({}));
  EXPECT_EQ(r1.dead_blobs, 1);
  EXPECT_EQ(r1.blobs_deleted, 0);
  EXPECT_EQ(r1.blobs_deferred, 1);
  ASSERT_EQ(r1.deferred_by.size(), 1u);
  // Before its next Flush the writer re-puts the condemned bytes. Its view is from before the
  // mark, so it deduplicates (a touch) -- which is safe because the GC waits for it.
  MP_ASSERT_OK(writer->Put(old).status());
  MP_ASSERT_OK(writer->Flush());  // publishes the touch, then acknowledges the mark
  MP_ASSERT_OK_AND_ASSIGN(auto r2, Gc({}));
  EXPECT_EQ(r2.blobs_deleted, 0);  // the touch made it recent
  MP_ASSERT_OK_AND_ASSIGN(auto reader, OpenStore());
  EXPECT_EQ(ReadAll(*reader, BlobId::Of(old)), old);
}

TEST_F(BlobGcTest, AWriterThatSawTheMarkStoresCondemnedBytesAgain) {
  std::string old = RandomBytes(30000, 31);
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put(old).status());
    MP_ASSERT_OK(store->Flush());
  }
  clock_.Advance(kDay);
  MP_ASSERT_OK_AND_ASSIGN(auto holder, OpenStore());
  MP_ASSERT_OK(holder->Put("keeps a lease").status());
  MP_ASSERT_OK_AND_ASSIGN(auto r1, Gc({}));  // marks, defers (holder has not seen the mark)
  EXPECT_EQ(r1.blobs_deferred, 1);
  // A new writer loads the mark: it must not trust the condemned chunks.
  const int64_t before = PackBytes();
  MP_ASSERT_OK_AND_ASSIGN(auto writer, OpenStore());
  MP_ASSERT_OK(writer->Put(old).status());
  MP_ASSERT_OK(writer->Flush());
  EXPECT_GT(PackBytes() - before, 25000) << "stored again, not deduplicated";
  MP_ASSERT_OK(holder->Flush());
  MP_ASSERT_OK_AND_ASSIGN(auto r2, Gc({}));
  EXPECT_EQ(r2.blobs_deleted, 0);  // the new entry is recent
  EXPECT_GE(r2.packs_deleted, 1);  // one of the two copies goes
  MP_ASSERT_OK_AND_ASSIGN(auto reader, OpenStore());
  EXPECT_EQ(ReadAll(*reader, BlobId::Of(old)), old);
  ExpectVerified();
}

TEST_F(BlobGcTest, AConcurrentWriterNeverLosesABlob) {
  // Old blobs nobody references; a writer keeps putting new blobs and re-putting old ones while
  // garbage collections run. Every id the writer got back must stay readable.
  std::vector<std::string> old;
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    for (int i = 0; i < 60; ++i) {
      old.push_back(i % 3 ? RandomBytes(3000 + 97 * i, 500 + i) : LogText(4000 + i, 500 + i));
      MP_ASSERT_OK(store->Put(old.back()).status());
    }
    MP_ASSERT_OK(store->Flush());
  }
  clock_.Advance(kDay);
  std::vector<std::string> written;
  std::atomic<bool> done{false};
  std::string writer_error;
  std::thread writer([&] {
    auto store = OpenStore();
    if (!store.ok()) {
      writer_error = store.status().ToString();
      done = true;
      return;
    }
    std::mt19937_64 rng(99);
    for (int round = 0; round < 60 && writer_error.empty(); ++round) {
      for (int k = 0; k < 6; ++k) {
        std::string d = k < 4 ? old[rng() % old.size()] : RandomBytes(2000 + rng() % 6000, rng());
        auto id = (*store)->Put(d);
        if (!id.ok()) writer_error = id.status().ToString();
        written.push_back(std::move(d));
      }
      Status st = (*store)->Flush();
      if (!st.ok()) writer_error = st.ToString();
    }
    done = true;
  });
  int runs = 0;
  std::string gc_error;
  while (!done) {
    auto r = Gc({}, kHour);
    if (!r.ok() && r.status().message().find("maintenance") == std::string::npos) {
      gc_error = r.status().ToString();
      break;
    }
    ++runs;
  }
  writer.join();
  ASSERT_TRUE(writer_error.empty()) << writer_error;
  ASSERT_TRUE(gc_error.empty()) << gc_error;
  EXPECT_GT(runs, 2);
  MP_ASSERT_OK(Gc({}, kHour).status());  // with the writer gone: everything old is swept
  MP_ASSERT_OK_AND_ASSIGN(auto reader, OpenStore());
  std::set<BlobId> kept;
  for (const auto& d : written) {
    kept.insert(BlobId::Of(d));
    ASSERT_EQ(ReadAll(*reader, BlobId::Of(d)), d);
  }
  for (const auto& d : old) {
    if (!kept.count(BlobId::Of(d))) {
      EXPECT_FALSE(Has(BlobId::Of(d)));
    }
  }
  ExpectVerified();
}

TEST_F(BlobGcTest, OneMaintenanceRunAtATime) {
  std::filesystem::create_directories(dir_ / "_blobs");
  {
    std::ofstream f(dir_ / "_blobs" / "maintenance.lock");
    f << "{\"owner\":\"gc\",\"created\":" << testing::FakeClock{}.now->load() + 0 << "}";
  }
  std::filesystem::last_write_time(dir_ / "_blobs" / "maintenance.lock",
                                   std::filesystem::file_time_type::clock::now());
  // The lock's time is far in the past (wall clock): it is stale and taken over.
  MP_ASSERT_OK(Gc({}).status());
  {
    std::ofstream f(dir_ / "_blobs" / "maintenance.lock");
    f << "{\"owner\":\"tier apply\",\"created\":"
      << std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count()
      << "}";
  }
  auto r = Gc({});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("maintenance.lock"), std::string::npos);
}

}  // namespace
}  // namespace millpond::blob
