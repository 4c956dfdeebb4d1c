// Paimon blob formats: the Java-written `.blob` files of the golden table db_with_blob (read in
// place) decode to exactly the bytes of the blob_N.bin files beside them, our writer's files
// decode the same way and byte for byte as Java frames them, damaged files fail with an error
// naming the file, and BlobDescriptor round-trips in Paimon's layout.
#include "millpond/paimon/blob_format.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/chunked_array.h>
#include <arrow/io/memory.h>

namespace millpond::paimon {
namespace {

namespace stdfs = std::filesystem;

const stdfs::path kTable =
    stdfs::path(MILLPOND_INTEROP_DIR) / "db_with_blob.db" / "table_with_blob";

std::string Slurp(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::shared_ptr<fs::FileSystem> LocalFs() {
  std::string root;
  return *fs::FileSystem::Make("/", &root);
}

std::string TempDir(const std::string& name) {
  auto dir = stdfs::temp_directory_path() / ("millpond_blob_format_" + name + "_" +
                                             std::to_string(::getpid()));
  stdfs::remove_all(dir);
  stdfs::create_directories(dir);
  return dir.string();
}

TEST(BlobFormat, ReadsJavaBlobFilesAsTheReadmeMapsThem) {
  if (!stdfs::exists(kTable)) GTEST_SKIP() << "golden table missing: " << kTable;
  // README: data-…-1.blob holds blob_0..2, -2 holds 3..4, -3 holds 5..8, -4 holds 9.
  const std::vector<std::pair<int, std::vector<std::string>>> files = {
      {1, {"blob_0_811d5dab", "blob_1_b81cf9f4", "blob_2_470e1dfe"}},
      {2, {"blob_3_07b08c4d", "blob_4_67007c96"}},
      {3, {"blob_5_f7099dea", "blob_6_6b6706ef", "blob_7_6bcae65e", "blob_8_5fba0737"}},
      {4, {"blob_9_f54d253c"}}};
  auto fs = LocalFs();
  for (const auto& [n, bins] : files) {
    auto path = kTable / "bucket-0" /
                ("data-d7816e8e-6c6d-4e28-9137-837cdf706350-" + std::to_string(n) + ".blob");
    auto r = BlobFileReader::Open(*fs, path.string());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ((*r)->record_count(), static_cast<int64_t>(bins.size()));
    for (size_t i = 0; i < bins.size(); ++i) {
      auto value = (*r)->Read(static_cast<int64_t>(i));
      ASSERT_TRUE(value.ok()) << value.status().ToString();
      EXPECT_EQ((*value)->ToString(), Slurp(kTable / (bins[i] + ".bin"))) << path << " #" << i;
    }
    auto all = (*r)->ReadAll();
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    EXPECT_EQ((*all)->length(), static_cast<int64_t>(bins.size()));
  }
}

TEST(BlobFormat, WriterRoundTripsAndFramesLikeJava) {
  auto fs = LocalFs();
  std::string dir = TempDir("roundtrip");
  std::string path = dir + "/data-x-1.blob";
  auto w = BlobFileWriter::Open(*fs, path);
  ASSERT_TRUE(w.ok());
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
  ASSERT_EQ(*(*w)->Append("hello"), 4);  // bytes start after the 4-byte magic
  ASSERT_TRUE((*w)->AppendNull().ok());
  arrow::io::BufferReader in(std::make_shared<arrow::Buffer>(big));
  auto streamed = (*w)->AppendFrom(&in);
  ASSERT_TRUE(streamed.ok());
  EXPECT_EQ(streamed->first, 4 + 5 + 12 + 4);
  EXPECT_EQ(streamed->second, static_cast<int64_t>(big.size()));
  ASSERT_TRUE((*w)->Append("").ok());
  auto size = (*w)->Finish();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, static_cast<int64_t>(stdfs::file_size(path)));

  auto r = BlobFileReader::Open(*fs, path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)->record_count(), 4);
  EXPECT_FALSE((*r)->IsNull(0));
  EXPECT_TRUE((*r)->IsNull(1));
  EXPECT_EQ((*(*r)->Read(0))->ToString(), "hello");
  EXPECT_EQ((*(*r)->Read(2))->ToString(), big);
  EXPECT_EQ((*(*r)->Read(3))->ToString(), "");
  EXPECT_EQ((*r)->DataOffset(2), streamed->first);
  // A descriptor of (file, offset, length) names exactly the bytes: what Paimon Java's
  // Blob.fromFile reads.
  std::string file = Slurp(path);
  EXPECT_EQ(file.substr((*r)->DataOffset(2), (*r)->DataLength(2)), big);
  // Frame 0 as Java writes it: magic, bytes, frame length 21, CRC-32.
  EXPECT_EQ(file.substr(0, 4), std::string("\xcf\x11\x4e\x58", 4));
  EXPECT_EQ(file.substr(9, 8), std::string("\x15\0\0\0\0\0\0\0", 8));
  auto all = (*r)->ReadAll();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)->null_count(), 1);
  stdfs::remove_all(dir);
}

TEST(BlobFormat, DamagedFilesFailNamingTheFile) {
  auto fs = LocalFs();
  std::string dir = TempDir("damaged");
  std::string path = dir + "/bad.blob";
  {
    auto w = *BlobFileWriter::Open(*fs, path);
    ASSERT_TRUE(w->Append("some bytes here").ok());
    ASSERT_TRUE(w->Finish().ok());
  }
  std::string good = Slurp(path);
  auto write = [&](const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  };
  // A flipped data byte: the CRC check names file and record.
  std::string flipped = good;
  flipped[6] ^= 0x01;
  write(flipped);
  auto r = BlobFileReader::Open(*fs, path);
  ASSERT_TRUE(r.ok());
  auto v = (*r)->Read(0);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("bad.blob"), std::string::npos);
  EXPECT_NE(v.status().message().find("CRC"), std::string::npos);
  // A wrong version byte, a truncated file, an index that does not cover the data.
  std::string wrong_version = good;
  wrong_version.back() = 7;
  write(wrong_version);
  EXPECT_NE(BlobFileReader::Open(*fs, path).status().message().find("version"), std::string::npos);
  write(good.substr(3));
  EXPECT_FALSE(BlobFileReader::Open(*fs, path).ok());
  write("abc");
  EXPECT_NE(BlobFileReader::Open(*fs, path).status().message().find("bad.blob"), std::string::npos);
  stdfs::remove_all(dir);
}

TEST(BlobFormat, DeltaVarintMatchesJava) {
  // Java: DeltaVarintCompressor.compress([570270, 1146526, 1799596]) = bcce4580ac469cdc4f (the
  // index of data-…-1.blob above).
  std::vector<int64_t> v = {570270, 1146526, 1799596};
  std::string enc = DeltaVarintEncode(v);
  EXPECT_EQ(enc, std::string("\xbc\xce\x45\x80\xac\x46\x9c\xdc\x4f", 9));
  EXPECT_EQ(*DeltaVarintDecode(enc), v);
  std::vector<int64_t> with_nulls = {-1, 20, -1, -1, 1LL << 40, 16};
  EXPECT_EQ(*DeltaVarintDecode(DeltaVarintEncode(with_nulls)), with_nulls);
  EXPECT_FALSE(DeltaVarintDecode(std::string("\x80", 1)).ok());
}

TEST(BlobFormat, DescriptorLayoutAndValidation) {
  BlobDescriptor d{"file:/w/_blobs/x.pack", 4096, 123};
  std::string s = d.Serialize();
  ASSERT_EQ(s.size(), 1 + 8 + 4 + d.uri.size() + 16);
  EXPECT_EQ(s[0], 2);
  EXPECT_EQ(s.substr(1, 8), std::string("CSEDBOLB"));  // the magic "BLOBDESC", little-endian
  EXPECT_TRUE(BlobDescriptor::LooksLikeDescriptor(s));
  EXPECT_EQ(*BlobDescriptor::Parse(s), d);
  EXPECT_FALSE(BlobDescriptor::LooksLikeDescriptor("\x89PNG\r\n\x1a\n...."));
  EXPECT_FALSE(BlobDescriptor::Parse("\x89PNG\r\n\x1a\n....").ok());
  EXPECT_FALSE(BlobDescriptor::Parse(s.substr(0, s.size() - 1)).ok());
  EXPECT_FALSE(BlobDescriptor::Parse(s + "x").ok());
  // Version 1 (no magic) still parses.
  std::string v1 = std::string(1, '\x01') + s.substr(9);
  EXPECT_EQ(*BlobDescriptor::Parse(v1), d);
}

}  // namespace
}  // namespace millpond::paimon
