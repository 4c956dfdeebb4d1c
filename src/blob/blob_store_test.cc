// BlobStore: round trips, range reads over chunks, dedup across puts and store instances,
// compression by content type, corrupt packs, concurrency, streaming puts.
#include <fstream>
#include <thread>

#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>
#include <arrow/util/thread_pool.h>

#include "blob_test_util.h"
#include "decoded_cache.h"
#include "store_impl.h"
#include "millpond/blob/inspect.h"
#include "sha256.h"

namespace millpond::blob {
namespace {

using testing::BlobTest;
using testing::LogText;
using testing::RandomBytes;

class BlobStoreTest : public BlobTest {
 protected:
  void SetUp() override {
    BlobTest::SetUp();
    options_.average_chunk_size = 4096;  // many chunks from small test blobs
    options_.small_blob_threshold = 4096;
  }
  StoreStats Stats() {
    auto s = ComputeStats(fs_, root_, options_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : StoreStats{};
  }
  std::vector<std::filesystem::path> PackFiles() {
    std::vector<std::filesystem::path> out;
    auto dir = dir_ / "_blobs" / "hot" / "packs";
    if (!std::filesystem::exists(dir)) return out;
    for (auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path());
    return out;
  }
};

TEST_F(BlobStoreTest, PutGetRoundTripsAtEverySize) {
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  for (size_t n : {0u, 1u, 100u, 4095u, 4096u, 100000u, 3000000u}) {
    std::string data = RandomBytes(n, n + 1);
    MP_ASSERT_OK_AND_ASSIGN(BlobId id, store->Put(data));
    EXPECT_EQ(id, BlobId::Of(data));
    EXPECT_EQ(ReadAll(*store, id), data) << n << " bytes, before flush";
    MP_ASSERT_OK_AND_ASSIGN(int64_t size, store->Size(id));
    EXPECT_EQ(size, static_cast<int64_t>(n));
  }
  MP_ASSERT_OK(store->Flush());
  MP_ASSERT_OK_AND_ASSIGN(auto reopened, OpenStore());
  for (size_t n : {0u, 1u, 100u, 4095u, 4096u, 100000u, 3000000u}) {
    std::string data = RandomBytes(n, n + 1);
    EXPECT_EQ(ReadAll(*reopened, BlobId::Of(data)), data) << n << " bytes, other instance";
  }
  auto missing = reopened->Get(BlobId::Of("never stored"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("not found"), std::string::npos);
  MP_ASSERT_OK_AND_ASSIGN(bool has, reopened->Contains(BlobId::Of("never stored")));
  EXPECT_FALSE(has);
}

TEST_F(BlobStoreTest, IdsPrintAndParse) {
  BlobId id = BlobId::Of("abc");
  EXPECT_EQ(id.ToString(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(*BlobId::Parse(id.ToString()), id);
  EXPECT_EQ(*BlobId::Parse("blob:" + id.ToString()), id);
  EXPECT_EQ(*BlobId::Parse(id.Hex()), id);
  EXPECT_FALSE(BlobId::Parse("sha256:xyz").ok());
}

TEST_F(BlobStoreTest, RangeReadsSpanChunksForRawAndCompressedBlobs) {
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  std::string random = RandomBytes(1 << 20, 3);
  std::string text = LogText(1 << 20, 4);
  MP_ASSERT_OK_AND_ASSIGN(BlobId rid, store->Put(random));
  MP_ASSERT_OK_AND_ASSIGN(BlobId tid, store->Put(text));
  MP_ASSERT_OK(store->Flush());
  MP_ASSERT_OK_AND_ASSIGN(auto reader, OpenStore());
  std::mt19937_64 rng(7);
  for (int i = 0; i < 300; ++i) {
    const bool use_text = i % 2;
    const std::string& data = use_text ? text : random;
    const BlobId& id = use_text ? tid : rid;
    int64_t a = static_cast<int64_t>(rng() % data.size());
    int64_t len = static_cast<int64_t>(rng() % (i % 3 == 0 ? 50000 : 700));
    MP_ASSERT_OK_AND_ASSIGN(auto buf, reader->Get(id, a, len));
    ASSERT_EQ(buf->ToString(), data.substr(a, len)) << "range " << a << "+" << len;
  }
  MP_ASSERT_OK_AND_ASSIGN(auto tail, reader->Get(rid, (1 << 20) - 10, -1));
  EXPECT_EQ(tail->ToString(), random.substr((1 << 20) - 10));
  MP_ASSERT_OK_AND_ASSIGN(auto past, reader->Get(rid, 1 << 20, 100));
  EXPECT_EQ(past->size(), 0);
  EXPECT_FALSE(reader->Get(rid, (1 << 20) + 1, 1).ok());
}

TEST_F(BlobStoreTest, SameBytesAreStoredOnceAcrossPutsAndStores) {
  std::string data = RandomBytes(2 << 20, 21);
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put(data).status());
    MP_ASSERT_OK(store->Put(data).status());  // same instance: a touch
    MP_ASSERT_OK(store->Flush());
  }
  StoreStats first = Stats();
  EXPECT_EQ(first.blobs, 1);
  EXPECT_EQ(first.puts, 2);
  {
    // A second store (as another process would): finds the blob in the index.
    MP_ASSERT_OK_AND_ASSIGN(auto other, OpenStore());
    MP_ASSERT_OK(other->Put(data).status());
    MP_ASSERT_OK(other->Flush());
  }
  StoreStats second = Stats();
  EXPECT_EQ(second.chunk_bytes, first.chunk_bytes);
  EXPECT_EQ(second.stored_bytes, first.stored_bytes);
  EXPECT_EQ(second.puts, 3);
  EXPECT_EQ(second.logical_bytes, 3 * static_cast<int64_t>(data.size()));
  {
    // An edited copy (bytes inserted in the middle) stores only the chunks around the edit.
    MP_ASSERT_OK_AND_ASSIGN(auto other, OpenStore());
    std::string edited = data.substr(0, 1 << 20) + "inserted!" + data.substr(1 << 20);
    MP_ASSERT_OK_AND_ASSIGN(BlobId eid, other->Put(edited));
    MP_ASSERT_OK(other->Flush());
    EXPECT_EQ(ReadAll(*other, eid), edited);
  }
  StoreStats third = Stats();
  EXPECT_EQ(third.blobs, 2);
  EXPECT_LT(third.chunk_bytes - second.chunk_bytes, 64 * 1024);
}

TEST_F(BlobStoreTest, FlushMakesPutsVisibleToOtherStores) {
  MP_ASSERT_OK_AND_ASSIGN(auto writer, OpenStore());
  MP_ASSERT_OK_AND_ASSIGN(auto reader, OpenStore());
  std::string data = LogText(50000, 8);
  MP_ASSERT_OK_AND_ASSIGN(BlobId id, writer->Put(data));
  MP_ASSERT_OK_AND_ASSIGN(bool before, reader->Contains(id));
  EXPECT_FALSE(before);
  MP_ASSERT_OK(writer->Flush());
  MP_ASSERT_OK_AND_ASSIGN(bool after, reader->Contains(id));  // reloads on a miss
  EXPECT_TRUE(after);
  EXPECT_EQ(ReadAll(*reader, id), data);
}

TEST_F(BlobStoreTest, CompressionIsChosenByContentType) {
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  std::string log = LogText(200000, 1);
  std::string jpeg = "\xFF\xD8\xFF\xE0" + LogText(200000, 2);  // compressible, but a JPEG
  std::string noise = RandomBytes(200000, 3);
  std::string sensor(200000, '\0');
  for (size_t i = 0; i < sensor.size(); i += 2) sensor[i] = static_cast<char>(i / 512);
  for (const auto* d : {&log, &jpeg, &noise, &sensor}) MP_ASSERT_OK(store->Put(*d).status());
  MP_ASSERT_OK(store->Flush());
  StoreStats s = Stats();
  ASSERT_TRUE(s.classes.count("text"));
  ASSERT_TRUE(s.classes.count("jpeg"));
  ASSERT_TRUE(s.classes.count("binary"));
  EXPECT_LT(s.classes["text"].stored_bytes * 3, s.classes["text"].raw_bytes);
  EXPECT_EQ(s.classes["jpeg"].stored_bytes, s.classes["jpeg"].raw_bytes);
  // binary = noise (kept raw) + sensor dump (compressed).
  EXPECT_LT(s.classes["binary"].stored_bytes, 200000 + 100000);
  EXPECT_GT(s.classes["binary"].stored_bytes, 200000);
  MP_ASSERT_OK_AND_ASSIGN(BlobStat st, store->Stat(BlobId::Of(log)));
  EXPECT_EQ(st.content_class, "text");
  EXPECT_LT(st.stored_bytes, st.size / 3);
  EXPECT_GT(st.chunks, 10);
  ASSERT_EQ(st.packs.size(), 1u);
  EXPECT_EQ(st.packs[0].rfind("hot/pack-", 0), 0u);
}

TEST_F(BlobStoreTest, CorruptOrTruncatedPackIsAnErrorNamingTheFile) {
  std::string data = RandomBytes(300000, 5);
  BlobId id;
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK_AND_ASSIGN(id, store->Put(data));
    MP_ASSERT_OK(store->Flush());
  }
  auto packs = PackFiles();
  ASSERT_EQ(packs.size(), 1u);
  const std::string pack = packs[0].string();
  {
    std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    char c;
    f.read(&c, 1);
    f.seekp(1000);
    c ^= 0x40;
    f.write(&c, 1);
  }
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    auto got = store->Get(id);
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.status().message().find(pack), std::string::npos) << got.status().ToString();
    EXPECT_NE(got.status().message().find("checksum mismatch"), std::string::npos);
    // A range in an intact chunk still reads.
    MP_ASSERT_OK_AND_ASSIGN(auto tail, store->Get(id, 290000, 100));
    EXPECT_EQ(tail->ToString(), data.substr(290000, 100));
  }
  MP_ASSERT_OK_AND_ASSIGN(auto report, VerifyStore(fs_, root_, {}, options_));
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find(pack), std::string::npos);

  std::filesystem::resize_file(packs[0], 200000);
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  auto got = store->Get(id, 250000, 10);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("truncated"), std::string::npos) << got.status().ToString();
  EXPECT_NE(got.status().message().find(pack), std::string::npos);
  MP_ASSERT_OK_AND_ASSIGN(auto report2, VerifyStore(fs_, root_, {}, options_));
  ASSERT_FALSE(report2.ok());
  EXPECT_NE(report2.problems[0].find(pack), std::string::npos);
}

TEST_F(BlobStoreTest, CorruptIndexSegmentIsAnErrorNamingTheFile) {
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put("hello").status());
    MP_ASSERT_OK(store->Flush());
  }
  std::filesystem::path seg;
  for (auto& e : std::filesystem::directory_iterator(dir_ / "_blobs" / "index")) seg = e.path();
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    char c;
    f.seekg(50);
    f.read(&c, 1);
    c ^= 0x5a;  // always a different byte
    f.seekp(50);
    f.write(&c, 1);
  }
  auto store = OpenStore();
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(seg.string()), std::string::npos);
  MP_ASSERT_OK_AND_ASSIGN(auto report, VerifyStore(fs_, root_, {}, options_));
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find("checksum mismatch"), std::string::npos);
}

TEST_F(BlobStoreTest, ConcurrentPutsAndParallelReads) {
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  constexpr int kThreads = 4, kPerThread = 25;
  std::vector<std::vector<std::string>> data(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every thread also puts the shared blobs: concurrent dedup of the same bytes.
        std::string d = i % 5 == 0 ? RandomBytes(50000, 1000 + i) : LogText(20000 + i, t * 100 + i);
        if (!store->Put(d).ok()) ++failures;
        data[t].push_back(std::move(d));
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  MP_ASSERT_OK(store->Flush());
  MP_ASSERT_OK_AND_ASSIGN(auto reader, OpenStore());
  std::vector<BlobRange> ranges;
  std::vector<std::string> expect;
  for (auto& v : data) {
    for (auto& d : v) {
      ranges.push_back(BlobRange{BlobId::Of(d), 0, -1});
      expect.push_back(d);
    }
  }
  auto got = reader->GetMany(ranges, 4);
  ASSERT_EQ(got.size(), expect.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i].ok()) << got[i].status().ToString();
    EXPECT_EQ((*got[i])->ToString(), expect[i]);
  }
  StoreStats s = Stats();
  EXPECT_EQ(s.blobs, kThreads * kPerThread - (kThreads - 1) * (kPerThread / 5));
  MP_ASSERT_OK_AND_ASSIGN(auto report, VerifyStore(fs_, root_, {}, options_));
  EXPECT_TRUE(report.ok()) << report.problems[0];
}

TEST_F(BlobStoreTest, PacksRollAtTheTargetSize) {
  options_.target_pack_size = 256 * 1024;
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  std::string data = RandomBytes(1 << 20, 77);
  MP_ASSERT_OK_AND_ASSIGN(BlobId id, store->Put(data));
  EXPECT_EQ(ReadAll(*store, id), data);  // spans sealed and open packs before the flush
  MP_ASSERT_OK(store->Flush());
  auto packs = PackFiles();
  EXPECT_GE(packs.size(), 4u);
  for (auto& p : packs) EXPECT_LE(std::filesystem::file_size(p), 256u * 1024 + 8192);
  MP_ASSERT_OK_AND_ASSIGN(auto reader, OpenStore());
  EXPECT_EQ(ReadAll(*reader, id), data);
}

TEST_F(BlobStoreTest, PutFileStreamsLargeFilesToTheSameChunks) {
  options_.average_chunk_size = 64 * 1024;
  options_.small_blob_threshold = 64 * 1024;
  std::string data = RandomBytes(40 << 20, 9) + LogText(30 << 20, 10);  // > 64 MiB: streamed
  auto path = dir_ / "big.bin";
  {
    std::ofstream f(path, std::ios::binary);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  MP_ASSERT_OK_AND_ASSIGN(BlobId id, store->PutFile(path.string()));
  EXPECT_EQ(id, BlobId::Of(data));
  MP_ASSERT_OK(store->Flush());
  StoreStats once = Stats();
  // The same bytes put from memory chunk identically: nothing new is stored.
  MP_ASSERT_OK_AND_ASSIGN(BlobId again, store->Put(data));
  EXPECT_EQ(again, id);
  MP_ASSERT_OK(store->Flush());
  EXPECT_EQ(Stats().stored_bytes, once.stored_bytes);
  MP_ASSERT_OK_AND_ASSIGN(auto mid, store->Get(id, 40 << 20, 1 << 20));
  EXPECT_EQ(mid->ToString(), data.substr(40 << 20, 1 << 20));
  EXPECT_FALSE(store->PutFile((dir_ / "absent").string()).ok());
}

// Counts the bytes read from pack files: a range read must not touch the rest of its pack.
class CountingFile : public arrow::io::RandomAccessFile {
 public:
  CountingFile(std::shared_ptr<arrow::io::RandomAccessFile> f, std::atomic<int64_t>* n)
      : f_(std::move(f)), n_(n) {}
  arrow::Status Close() override { return f_->Close(); }
  bool closed() const override { return f_->closed(); }
  arrow::Result<int64_t> Tell() const override { return f_->Tell(); }
  arrow::Status Seek(int64_t p) override { return f_->Seek(p); }
  arrow::Result<int64_t> GetSize() override { return f_->GetSize(); }
  arrow::Result<int64_t> Read(int64_t n, void* out) override {
    *n_ += n;
    return f_->Read(n, out);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t n) override {
    *n_ += n;
    return f_->Read(n);
  }
  arrow::Result<int64_t> ReadAt(int64_t p, int64_t n, void* out) override {
    *n_ += n;
    return f_->ReadAt(p, n, out);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t p, int64_t n) override {
    *n_ += n;
    return f_->ReadAt(p, n);
  }

 private:
  std::shared_ptr<arrow::io::RandomAccessFile> f_;
  std::atomic<int64_t>* n_;
};

class CountingFs : public arrow::fs::LocalFileSystem {
 public:
  std::atomic<int64_t> pack_bytes{0};
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(auto f, arrow::fs::LocalFileSystem::OpenInputFile(path));
    if (path.find(".mpk") == std::string::npos) return f;
    return std::make_shared<CountingFile>(std::move(f), &pack_bytes);
  }
};

TEST_F(BlobStoreTest, RangeReadsTouchOnlyTheChunksNeeded) {
  auto counting = std::make_shared<CountingFs>();
  fs_ = std::make_shared<fs::FileSystem>(counting, /*local=*/true);
  options_.mmap_reads = false;  // count reads through the file system
  std::string data = RandomBytes(8 << 20, 31);
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put(data).status());
    MP_ASSERT_OK(store->Put(RandomBytes(8 << 20, 32)).status());  // same pack
    MP_ASSERT_OK(store->Flush());
  }
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  counting->pack_bytes = 0;
  MP_ASSERT_OK_AND_ASSIGN(auto buf, store->Get(BlobId::Of(data), 5000000, 100));
  EXPECT_EQ(buf->ToString(), data.substr(5000000, 100));
  EXPECT_LE(counting->pack_bytes.load(), 2 * 16 * 1024) << "one or two 4 KiB-average chunks";
  counting->pack_bytes = 0;
  MP_ASSERT_OK_AND_ASSIGN(auto whole, store->Get(BlobId::Of(data)));
  EXPECT_EQ(counting->pack_bytes.load(), static_cast<int64_t>(data.size()));
}

}  // namespace
}  // namespace millpond::blob

namespace millpond::blob {
namespace {

// Sha256Many (chunk ids, sixteen AVX-512 lanes at a time) against OpenSSL: every length around
// the block and padding boundaries, lanes refilled as messages of different lengths end, and
// batches smaller and larger than the lanes.
TEST(Sha256ManyTest, MatchesOpenSslForEveryLengthAndBatch) {
  if (!Sha256LanesAvailable()) GTEST_SKIP() << "no AVX-512 here: Sha256Many is OpenSSL alone";
  std::string data = testing::RandomBytes(1 << 20, 99);
  std::vector<std::string_view> msgs;
  for (size_t n = 0; n <= 300; ++n) msgs.emplace_back(data.data() + n, n);
  std::mt19937_64 rng(5);
  for (int i = 0; i < 400; ++i) {
    const size_t n = rng() % (i % 10 == 0 ? 300000 : 70000);
    msgs.emplace_back(data.data() + rng() % (data.size() - n), n);
  }
  for (size_t batch : {1u, 9u, 16u, 17u, 701u}) {
    std::vector<Digest> got(batch);
    for (size_t from = 0; from + batch <= msgs.size(); from += batch) {
      Sha256Many(msgs.data() + from, batch, got.data(), Sha256Path::kLanes);
      for (size_t k = 0; k < batch; ++k) {
        ASSERT_EQ(got[k], Sha256Of(msgs[from + k].data(), msgs[from + k].size()))
            << "message of " << msgs[from + k].size() << " bytes in a batch of " << batch;
      }
    }
  }
}

// PutMany stores what Put one blob at a time stores: same ids, bytes, chunks and dedup, with
// duplicates inside the batch, blobs stored before it, an empty blob and many-chunk blobs whose
// ids and chunks go through the lanes.
TEST_F(BlobStoreTest, PutManyStoresWhatPutStoresOneByOne) {
  std::vector<std::string> data;
  for (size_t i = 0; i < 40; ++i) {
    const size_t n = i == 0 ? 0 : (i * 7919) % 300000;
    data.push_back(i % 3 ? RandomBytes(n, i) : LogText(n, i));
  }
  data.push_back(data[5]);   // the same bytes twice in one batch
  data.push_back(data[11]);
  std::vector<std::string_view> views(data.begin(), data.end());
  StoreStats one_by_one;
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    for (const auto& d : data) MP_ASSERT_OK(store->Put(d).status());
    MP_ASSERT_OK(store->Flush());
    one_by_one = Stats();
  }
  std::filesystem::remove_all(dir_ / "_blobs");
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  MP_ASSERT_OK(store->Put(data[7]).status());  // stored before the batch
  MP_ASSERT_OK_AND_ASSIGN(auto ids, store->PutMany(views));
  ASSERT_EQ(ids.size(), data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    EXPECT_EQ(ids[i], BlobId::Of(data[i])) << i;
    EXPECT_EQ(ReadAll(*store, ids[i]), data[i]) << i << ", before flush";
  }
  MP_ASSERT_OK(store->Flush());
  const StoreStats batched = Stats();
  EXPECT_EQ(batched.blobs, one_by_one.blobs);
  EXPECT_EQ(batched.chunks, one_by_one.chunks);
  EXPECT_EQ(batched.stored_bytes, one_by_one.stored_bytes);
  MP_ASSERT_OK_AND_ASSIGN(auto reader, OpenStore());
  for (size_t i = 0; i < data.size(); ++i) EXPECT_EQ(ReadAll(*reader, ids[i]), data[i]) << i;
  MP_ASSERT_OK_AND_ASSIGN(auto none, store->PutMany({}));
  EXPECT_TRUE(none.empty());
}

TEST(DecodedCacheTest, EvictsLeastRecentlyUsedWithinItsBudget) {
  DecodedCache cache(16 * 4096);  // 4 KiB per shard
  std::vector<BlobId> ids;
  for (int i = 0; i < 64; ++i) {
    std::string v(1500, static_cast<char>('a' + i % 26));
    ids.push_back(BlobId::Of(v + std::to_string(i)));
    cache.Insert(ids.back(), reinterpret_cast<const uint8_t*>(v.data()), v.size());
    EXPECT_LE(cache.size(), cache.capacity());
  }
  auto newest = cache.Lookup(ids.back());
  ASSERT_NE(newest, nullptr);
  EXPECT_EQ(*newest, std::string(1500, static_cast<char>('a' + 63 % 26)));
  int kept = 0;
  for (const auto& id : ids) kept += cache.Lookup(id) != nullptr;
  EXPECT_LT(kept, 64);
  EXPECT_GT(kept, 0);
  std::string big(8192, 'x');  // above a shard's budget: not kept
  cache.Insert(BlobId::Of(big), reinterpret_cast<const uint8_t*>(big.data()), big.size());
  EXPECT_EQ(cache.Lookup(BlobId::Of(big)), nullptr);
}

// A warm read of a compressed blob copies decoded chunks instead of decoding: shown by corrupting
// the pack after the first read. The same store still returns the right bytes (chunk ids are
// hashes of the decoded bytes, so a cached chunk cannot be stale); a store without the cache
// reports the corruption.
TEST_F(BlobStoreTest, WarmReadsOfCompressedBlobsComeFromTheDecodedCache) {
  const std::string text = LogText(1 << 20, 12);
  BlobId id;
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK_AND_ASSIGN(id, store->Put(text));
    MP_ASSERT_OK(store->Flush());
  }
  MP_ASSERT_OK_AND_ASSIGN(auto reader, OpenStore());
  EXPECT_EQ(ReadAll(*reader, id), text);
  auto packs = PackFiles();
  ASSERT_EQ(packs.size(), 1u);
  {
    std::fstream f(packs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(packs[0]) / 2));
    const std::string junk(64, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  EXPECT_EQ(ReadAll(*reader, id), text);
  MP_ASSERT_OK_AND_ASSIGN(auto range, reader->Get(id, 300001, 70000));
  EXPECT_EQ(range->ToString(), text.substr(300001, 70000));
  options_.decoded_cache_bytes = 0;
  MP_ASSERT_OK_AND_ASSIGN(auto uncached, OpenStore());
  auto got = uncached->Get(id);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("checksum mismatch"), std::string::npos)
      << got.status().ToString();
}

// Large compressed blobs are decoded by the CPU pool and this thread together: whole reads and
// ranges come back exact, and a corrupt chunk in a part decoded by the pool is still an error
// naming the pack.
TEST_F(BlobStoreTest, LargeCompressedBlobsDecodeInParallelParts) {
  options_.decoded_cache_bytes = 0;  // decode every time
  const std::string text = LogText(6 << 20, 13);
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  MP_ASSERT_OK_AND_ASSIGN(BlobId id, store->Put(text));
  MP_ASSERT_OK(store->Flush());
  MP_ASSERT_OK_AND_ASSIGN(auto reader, OpenStore());
  const int64_t split_before = ParallelDecodeCount();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ReadAll(*reader, id), text);
  if (arrow::internal::GetCpuThreadPool()->GetCapacity() >= 1) {
    EXPECT_EQ(ParallelDecodeCount() - split_before, 3) << "each whole read is split over the pool";
  }
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20; ++i) {
    const int64_t a = static_cast<int64_t>(rng() % text.size());
    const int64_t len = static_cast<int64_t>(rng() % (2 << 20));
    MP_ASSERT_OK_AND_ASSIGN(auto buf, reader->Get(id, a, len));
    ASSERT_EQ(buf->ToString(), text.substr(a, len)) << "range " << a << "+" << len;
  }
  auto packs = PackFiles();
  ASSERT_EQ(packs.size(), 1u);
  {
    // Late in the pack: a part the pool decodes, not the calling thread's first part.
    std::fstream f(packs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(packs[0]) * 7 / 8));
    const std::string junk(64, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  MP_ASSERT_OK_AND_ASSIGN(auto fresh, OpenStore());
  auto got = fresh->Get(id);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find(packs[0].string()), std::string::npos)
      << got.status().ToString();
  EXPECT_NE(got.status().message().find("checksum mismatch"), std::string::npos);
}

}  // namespace
}  // namespace millpond::blob
