// Store-backed BLOB columns: descriptors name pack ranges for blobs stored whole and raw (the
// bytes at that range are the blob) and fall back to id uris otherwise; scans resolve both (by
// id when the table names an id column); and the live set for the GC follows every snapshot,
// tag and branch — a data file deleted from the latest snapshot still counts while a tag or a
// branch or an older snapshot holds it — and maps pack-range descriptors without an id column
// back to their blobs.
#include "millpond/blob/blob_table.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/initialize.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>

#include "millpond/table/blob_reader.h"
#include "millpond/table/catalog.h"
#include "millpond/table/manifest_io.h"

namespace millpond::blob {
namespace {

namespace stdfs = std::filesystem;

#define BT_ASSERT_OK(expr)                                         \
  do {                                                             \
    auto _st = (expr);                                             \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString();      \
  } while (0)

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Text(size_t n) {
  std::string s;
  for (int i = 0; s.size() < n; ++i) s += "line " + std::to_string(i) + " spindle ok\n";
  return s.substr(0, n);
}

class BlobTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BT_ASSERT_OK(arrow::compute::Initialize());
    dir_ = stdfs::temp_directory_path() / ("millpond_blob_table_" + std::to_string(::getpid()));
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_);
    auto fs = fs::FileSystem::Make(dir_.string(), &root_);
    ASSERT_TRUE(fs.ok());
    fs_ = *fs;
    auto catalog = table::Catalog::Open(dir_.string(), /*create_if_missing=*/true);
    ASSERT_TRUE(catalog.ok());
    catalog_ = std::move(*catalog);
    RegisterTableBlobReader();
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  // Puts blobs, flushes, returns their ids and descriptors.
  std::vector<std::pair<BlobId, paimon::BlobDescriptor>> Store(
      const std::vector<std::string>& blobs) {
    std::vector<std::pair<BlobId, paimon::BlobDescriptor>> out;
    auto store = BlobStore::Open(fs_, root_);
    EXPECT_TRUE(store.ok());
    std::vector<BlobId> ids;
    for (const auto& b : blobs) ids.push_back(*(*store)->Put(b));
    EXPECT_TRUE((*store)->Flush().ok());
    auto maker = DescriptorMaker::Make(fs_, root_);
    EXPECT_TRUE(maker.ok());
    EXPECT_TRUE((*maker)->Refresh().ok());
    for (size_t i = 0; i < ids.size(); ++i) {
      out.emplace_back(ids[i], *(*maker)->Describe(ids[i], static_cast<int64_t>(blobs[i].size())));
    }
    return out;
  }

  std::unique_ptr<table::Table> Create(const std::string& name, bool id_field) {
    paimon::TableSchema schema;
    schema.fields = *paimon::ParseColumns("id INT, sha256 STRING, pic BLOB");
    schema.options[paimon::kBlobDescriptorFieldOption] = "pic";
    if (id_field) schema.options[std::string(table::kBlobIdFieldOptionPrefix) + "pic"] = "sha256";
    auto t = catalog_->CreateTable(name, schema);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::move(*t);
  }

  int64_t Append(table::Table& t, int first_id,
                 const std::vector<std::pair<BlobId, paimon::BlobDescriptor>>& blobs) {
    arrow::Int32Builder id;
    arrow::StringBuilder sha;
    arrow::BinaryBuilder pic;
    for (size_t i = 0; i < blobs.size(); ++i) {
      EXPECT_TRUE(id.Append(first_id + static_cast<int>(i)).ok());
      EXPECT_TRUE(sha.Append(blobs[i].first.Hex()).ok());
      EXPECT_TRUE(pic.Append(blobs[i].second.Serialize()).ok());
    }
    auto batch = arrow::RecordBatch::Make(
        arrow::schema({arrow::field("id", arrow::int32()), arrow::field("sha256", arrow::utf8()),
                       arrow::field("pic", arrow::binary())}),
        static_cast<int64_t>(blobs.size()),
        {*id.Finish(), *sha.Finish(), *pic.Finish()});
    auto w = *t.NewWriter();
    EXPECT_TRUE(w->Write(batch).ok());
    auto snap = t.Commit(*w->PrepareCommit());
    EXPECT_TRUE(snap.ok()) << snap.status().ToString();
    return *snap;
  }

  std::set<BlobId> Live() {
    std::set<BlobId> live;
    auto st = CollectLiveBlobs(fs_, root_, [&](const BlobId& id) { live.insert(id); });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return live;
  }

  std::map<int32_t, std::string> Scan(table::Table& t) {
    table::ScanOptions so;
    so.columns = {"id", "pic"};
    auto all = (*t.NewScan(so))->ReadAll();
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    std::map<int32_t, std::string> out;
    if (!all.ok()) return out;
    auto combined = *(*all)->CombineChunksToBatch();
    const auto& ids = static_cast<const arrow::Int32Array&>(*combined->column(0));
    const auto& pics = static_cast<const arrow::BinaryArray&>(*combined->column(1));
    for (int64_t r = 0; r < combined->num_rows(); ++r) {
      out[ids.Value(r)] = std::string(pics.GetView(r));
    }
    return out;
  }

  stdfs::path dir_;
  std::string root_;
  std::shared_ptr<fs::FileSystem> fs_;
  std::unique_ptr<table::Catalog> catalog_;
};

TEST_F(BlobTableTest, DescriptorsNamePackRangesOrIds) {
  std::string raw = Random(300000, 1);  // several chunks, stored as is
  std::string text = Text(300000);       // compressed by the store: no byte range to point at
  auto d = Store({raw, text});
  ASSERT_EQ(d[0].second.uri.rfind("file:", 0), 0u) << d[0].second.uri;
  EXPECT_NE(d[0].second.uri.find("/_blobs/hot/packs/pack-"), std::string::npos);
  EXPECT_EQ(d[0].second.length, static_cast<int64_t>(raw.size()));
  std::ifstream pack(d[0].second.uri.substr(5), std::ios::binary);
  std::ostringstream bytes;
  bytes << pack.rdbuf();
  EXPECT_EQ(bytes.str().substr(d[0].second.offset, d[0].second.length), raw);
  EXPECT_EQ(d[1].second.uri, "blob:" + d[1].first.ToString());
  EXPECT_EQ(d[1].second.length, static_cast<int64_t>(text.size()));

  // Scans read both, with and without an id column.
  for (bool id_field : {true, false}) {
    auto t = Create(id_field ? "db.with_id" : "db.without_id", id_field);
    Append(*t, 1, d);
    auto got = Scan(*t);
    EXPECT_EQ(got[1], raw);
    EXPECT_EQ(got[2], text);
  }
}

TEST_F(BlobTableTest, LiveSetFollowsSnapshotsTagsAndBranches) {
  auto a = Store({Random(5000, 11), Random(6000, 12)});
  auto c = Store({Random(7000, 13)});
  auto t = Create("db.t", /*id_field=*/true);
  ASSERT_EQ(Append(*t, 1, a), 1);
  ASSERT_EQ(Append(*t, 10, c), 2);
  const std::set<BlobId> all = {a[0].first, a[1].first, c[0].first};
  const std::set<BlobId> only_c = {c[0].first};
  EXPECT_EQ(Live(), all);

  // Snapshot 3 deletes snapshot 1's files: they are still referenced by snapshots 1 and 2.
  table::ManifestIO io(fs_, t->path(), paimon::AvroCodec::kZstd, {});
  auto s1 = *t->snapshots().ReadSnapshot(1);
  std::vector<paimon::ManifestEntry> deletes = *io.LiveEntries(s1);
  for (auto& e : deletes) e.kind = paimon::FileKind::kDelete;
  table::CommitOptions overwrite;
  overwrite.commit_kind = "OVERWRITE";
  ASSERT_EQ(*t->Commit(deletes, overwrite), 3);
  EXPECT_EQ(Scan(*t).size(), 1u);
  EXPECT_EQ(Live(), all);

  // A tag and a branch on snapshot 1, then snapshots 1 and 2 expire.
  BT_ASSERT_OK(t->snapshots().CreateTag("t1", 1));
  BT_ASSERT_OK(t->CreateBranch("b1", 1, std::nullopt));
  for (int64_t id : {1, 2}) BT_ASSERT_OK(fs_->DeleteFile(t->snapshots().SnapshotPath(id)));
  EXPECT_EQ(Live(), all);
  BT_ASSERT_OK(t->snapshots().DeleteTag("t1"));
  EXPECT_EQ(Live(), all);  // the branch still holds them
  BT_ASSERT_OK(t->DeleteBranch("b1"));
  EXPECT_EQ(Live(), only_c);
}

TEST_F(BlobTableTest, PackRangeDescriptorsWithoutIdColumnMapBackToBlobs) {
  auto d = Store({Random(200000, 21), Text(200000)});
  ASSERT_EQ(d[0].second.uri.rfind("file:", 0), 0u);
  auto t = Create("db.raw", /*id_field=*/false);
  Append(*t, 1, d);
  EXPECT_EQ(Live(), (std::set<BlobId>{d[0].first, d[1].first}));
  // A table without BLOB columns or id fields references nothing.
  paimon::TableSchema plain;
  plain.fields = *paimon::ParseColumns("id INT, sha256 STRING");
  ASSERT_TRUE(catalog_->CreateTable("db.plain", plain).ok());
  EXPECT_EQ(Live().size(), 2u);
}

TEST_F(BlobTableTest, UnreadableDataFileFailsTheLiveSet) {
  auto d = Store({Random(1000, 31)});
  auto t = Create("db.t", /*id_field=*/true);
  Append(*t, 1, d);
  for (const auto& e : stdfs::recursive_directory_iterator(dir_ / "db.db")) {
    if (e.path().extension() == ".parquet") stdfs::resize_file(e.path(), 10);
  }
  auto st = CollectLiveBlobs(fs_, root_, [](const BlobId&) {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(".parquet"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace millpond::blob
