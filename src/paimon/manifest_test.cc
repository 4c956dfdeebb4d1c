// Manifest codec tests against the Java-written golden tables under ../shared/interop (read in
// place): every manifest and manifest list decodes, values match the tables' READMEs and the files
// on disk, our encoding round-trips and uses Java's schema byte for byte, and damaged input fails
// with an error that names the file.
#include "millpond/paimon/manifest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "millpond/paimon/binary_row.h"
#include "paimon/avro_container.h"

namespace millpond::paimon {
namespace {

namespace fs = std::filesystem;

const fs::path kInterop = MILLPOND_INTEROP_DIR;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool IsManifestList(const fs::path& p) {
  return p.filename().string().rfind("manifest-list-", 0) == 0;
}
bool IsManifest(const fs::path& p) {
  return p.filename().string().rfind("manifest-", 0) == 0 && !IsManifestList(p);
}

// Every manifest/ folder of every golden table.
std::vector<fs::path> ManifestDirs() {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::recursive_directory_iterator(kInterop)) {
    if (e.is_directory() && e.path().filename() == "manifest" &&
        fs::exists(e.path().parent_path() / "snapshot")) {
      dirs.push_back(e.path());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

fs::path TableDir(const std::string& rel) { return kInterop / rel; }

std::vector<fs::path> FilesWithPrefix(const fs::path& dir, bool list) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (list ? IsManifestList(e.path()) : IsManifest(e.path())) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Data file name -> the bucket-N folders it lies in, anywhere under the table.
std::multimap<std::string, int> DataFilesOnDisk(const fs::path& table) {
  std::multimap<std::string, int> out;
  for (const auto& e : fs::recursive_directory_iterator(table)) {
    const std::string dir = e.path().parent_path().filename().string();
    if (e.is_regular_file() && dir.rfind("bucket-", 0) == 0) {
      out.emplace(e.path().filename().string(), std::stoi(dir.substr(7)));
    }
  }
  return out;
}

TEST(ManifestCodec, AvroCodecFromName) {
  EXPECT_EQ(*AvroCodecFromName("zstd"), AvroCodec::kZstd);
  EXPECT_EQ(*AvroCodecFromName("deflate"), AvroCodec::kDeflate);
  EXPECT_EQ(*AvroCodecFromName("none"), AvroCodec::kNull);
  EXPECT_EQ(*AvroCodecFromName("null"), AvroCodec::kNull);
  EXPECT_FALSE(AvroCodecFromName("lz4").ok());
}

TEST(ManifestCodec, EmptyStatsIsArityZeroRow) {
  const SimpleStats empty = SimpleStats::Empty();
  // 4-byte arity 0, then the 8-byte null-bit header of a BinaryRow with no fields.
  EXPECT_EQ(empty.min_values, std::string(12, '\0'));
  EXPECT_EQ(empty.max_values, std::string(12, '\0'));
  EXPECT_EQ(empty.min_values, EmptySerializedBinaryRow());
  EXPECT_TRUE(empty.null_counts_present);
  EXPECT_TRUE(empty.null_counts.empty());
}

// Every manifest and manifest list of every golden table (Avro-zstd and ORC) decodes, the
// manifest lists point at manifests that exist with their recorded size, and every added data
// file that is not external exists in the bucket folder the entry names.
TEST(ManifestCodec, DecodesEveryGoldenManifest) {
  const auto dirs = ManifestDirs();
  ASSERT_GT(dirs.size(), 30u);
  int manifests = 0, lists = 0, entries = 0, verified_on_disk = 0;
  for (const auto& dir : dirs) {
    SCOPED_TRACE(dir.string());
    const auto on_disk = DataFilesOnDisk(dir.parent_path());
    for (const auto& path : FilesWithPrefix(dir, /*list=*/false)) {
      auto decoded = DecodeManifestEntries(ReadFile(path), path.filename().string());
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
      ++manifests;
      for (const ManifestEntry& e : *decoded) {
        ++entries;
        EXPECT_GT(e.file.row_count, 0) << e.file.file_name;
        EXPECT_TRUE(e.total_buckets == -1 || e.total_buckets == -2 || e.bucket < e.total_buckets ||
                    e.total_buckets == 0)
            << e.file.file_name << " bucket " << e.bucket << " of " << e.total_buckets;
        if (e.kind != FileKind::kAdd || e.file.external_path.has_value()) continue;
        auto [lo, hi] = on_disk.equal_range(e.file.file_name);
        if (lo == hi) continue;  // removed by a later compaction and expiry
        std::set<int> buckets;
        for (auto it = lo; it != hi; ++it) buckets.insert(it->second);
        EXPECT_TRUE(buckets.count(e.bucket)) << e.file.file_name << " bucket " << e.bucket;
        ++verified_on_disk;
      }
    }
    for (const auto& path : FilesWithPrefix(dir, /*list=*/true)) {
      auto decoded = DecodeManifestList(ReadFile(path), path.filename().string());
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
      ++lists;
      for (const ManifestFileMeta& m : *decoded) {
        const fs::path manifest = dir / m.file_name;
        if (!fs::exists(manifest)) continue;  // expired
        EXPECT_EQ(static_cast<uintmax_t>(m.file_size), fs::file_size(manifest)) << m.file_name;
        auto listed = DecodeManifestEntries(ReadFile(manifest), m.file_name);
        ASSERT_TRUE(listed.ok()) << listed.status().ToString();
        int64_t added = 0, deleted = 0;
        for (const auto& e : *listed) (e.kind == FileKind::kAdd ? added : deleted)++;
        EXPECT_EQ(m.num_added_files, added) << m.file_name;
        EXPECT_EQ(m.num_deleted_files, deleted) << m.file_name;
      }
    }
  }
  EXPECT_GT(manifests, 60);
  EXPECT_GT(lists, 100);
  EXPECT_GT(entries, 100);
  EXPECT_GT(verified_on_disk, 100);
}

// README: 5 rows in partitions f1=10 (buckets 0 and 1) and f1=20 (bucket 0), one snapshot.
void CheckAppend10(const std::string& rel, const std::string& data_ext) {
  const fs::path dir = TableDir(rel) / "manifest";
  const auto lists = FilesWithPrefix(dir, /*list=*/true);
  ASSERT_EQ(lists.size(), 2u);
  // -0 is the (empty) base list of snapshot-1, -1 its delta list.
  auto base = DecodeManifestList(ReadFile(lists[0]), lists[0].filename().string());
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  EXPECT_TRUE(base->empty());
  auto delta = DecodeManifestList(ReadFile(lists[1]), lists[1].filename().string());
  ASSERT_TRUE(delta.ok()) << delta.status().ToString();
  ASSERT_EQ(delta->size(), 1u);
  const ManifestFileMeta& meta = (*delta)[0];
  EXPECT_EQ(meta.num_added_files, 3);
  EXPECT_EQ(meta.num_deleted_files, 0);
  EXPECT_EQ(meta.schema_id, 0);
  EXPECT_EQ(meta.partition_stats.null_counts, (std::vector<std::optional<int64_t>>{0}));

  auto entries = DecodeManifestEntries(ReadFile(dir / meta.file_name), meta.file_name);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 3u);
  int64_t rows = 0;
  std::map<std::pair<int32_t, int32_t>, int64_t> rows_by_partition_bucket;
  for (const ManifestEntry& e : *entries) {
    EXPECT_EQ(e.kind, FileKind::kAdd);
    EXPECT_EQ(e.total_buckets, 2);
    EXPECT_EQ(e.file.level, 0);
    EXPECT_EQ(e.file.schema_id, 0);
    EXPECT_TRUE(e.file.creation_time_millis.has_value());
    EXPECT_EQ(e.file.file_source, std::optional<int32_t>(0));
    EXPECT_EQ(e.file.min_key, EmptySerializedBinaryRow());
    EXPECT_EQ(e.file.value_stats.null_counts.size(), 4u);
    EXPECT_EQ(e.file.max_sequence_number - e.file.min_sequence_number + 1, e.file.row_count);
    // Partition row of arity 1 holding an INT: arity, null bits, then the value at byte 12.
    ASSERT_EQ(e.partition.size(), 20u);
    const int32_t f1 = static_cast<uint8_t>(e.partition[12]);
    rows_by_partition_bucket[{f1, e.bucket}] += e.file.row_count;
    rows += e.file.row_count;
    const std::string data_dir = "f1=" + std::to_string(f1) + "/bucket-" + std::to_string(e.bucket);
    EXPECT_TRUE(fs::exists(TableDir(rel) / data_dir / e.file.file_name)) << data_dir;
    EXPECT_EQ(static_cast<uintmax_t>(e.file.file_size),
              fs::file_size(TableDir(rel) / data_dir / e.file.file_name));
    EXPECT_EQ(fs::path(e.file.file_name).extension(), data_ext);
  }
  EXPECT_EQ(rows, 5);
  // Alice, Bob, Emily, Tony in f1=10; Lucy in f1=20. Buckets come from Paimon's hash of f2.
  std::map<int32_t, int64_t> per_partition;
  for (const auto& [key, n] : rows_by_partition_bucket) per_partition[key.first] += n;
  EXPECT_EQ(per_partition, (std::map<int32_t, int64_t>{{10, 4}, {20, 1}}));
  EXPECT_EQ(rows_by_partition_bucket.size(), 3u);
}

TEST(ManifestCodec, OrcAppend10MatchesReadme) {
  CheckAppend10("orc/append_10.db/append_10", ".orc");
}

TEST(ManifestCodec, ParquetAppend10MatchesReadme) {
  CheckAppend10("parquet/append_10.db/append_10", ".parquet");
}

TEST(ManifestCodec, NewestSchemaFixture) {
  const fs::path table =
      TableDir("avro/append_with_multiple_ts_precision_and_timezone.db/"
               "append_with_multiple_ts_precision_and_timezone");
  const std::string name = "manifest-2dd2463f-8dac-47f1-826a-6ba134e7a78b-0";
  const std::string bytes = ReadFile(table / "manifest" / name);
  auto entries = DecodeManifestEntries(bytes, name);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 1u);
  const ManifestEntry& e = (*entries)[0];
  EXPECT_EQ(e.bucket, 0);
  EXPECT_EQ(e.total_buckets, -1);  // bucket = -1 in the README
  EXPECT_EQ(e.file.file_name, "data-441e233b-529d-4a8f-a0a4-25c2c84fb965-0.avro");
  EXPECT_EQ(e.file.row_count, 3);
  EXPECT_EQ(static_cast<uintmax_t>(e.file.file_size),
            fs::file_size(table / "bucket-0" / e.file.file_name));
  EXPECT_EQ(e.partition, EmptySerializedBinaryRow());

  // Our encoding carries Java's writer schema byte for byte.
  auto java = AvroFileReader::Open(bytes, name);
  ASSERT_TRUE(java.ok());
  auto ours_bytes = EncodeManifestEntries(*entries, AvroCodec::kZstd);
  ASSERT_TRUE(ours_bytes.ok());
  auto ours = AvroFileReader::Open(*ours_bytes, "ours");
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ((*ours)->schema_json(), (*java)->schema_json());
  EXPECT_EQ((*ours)->codec(), "zstandard");
}

// What Java writes in _VERSION, which our encoder copies: 2 for entries and for list metas.
TEST(ManifestCodec, JavaWritesVersion2) {
  std::set<int32_t> entry_versions, list_versions;
  for (const auto& dir : ManifestDirs()) {
    for (bool list : {false, true}) {
      for (const auto& path : FilesWithPrefix(dir, list)) {
        const std::string bytes = ReadFile(path);
        if (bytes.rfind("Obj", 0) != 0) continue;
        auto reader = AvroFileReader::Open(bytes, path.string());
        ASSERT_TRUE(reader.ok());
        while (true) {
          auto record = (*reader)->Next();
          ASSERT_TRUE(record.ok());
          if (*record == nullptr) break;
          avro_value_t top = **record, branch;
          if (avro_value_get_type(&top) == AVRO_UNION) {  // Paimon 0.9: ["null", record]
            ASSERT_EQ(avro_value_get_current_branch(&top, &branch), 0);
            top = branch;
          }
          avro_value_t version;
          ASSERT_EQ(avro_value_get_by_name(&top, "_VERSION", &version, nullptr), 0);
          int32_t v = 0;
          avro_value_get_int(&version, &v);
          (list ? list_versions : entry_versions).insert(v);
        }
      }
    }
  }
  EXPECT_EQ(entry_versions, std::set<int32_t>{2});
  EXPECT_EQ(list_versions, std::set<int32_t>{2});
  const std::string ours = *EncodeManifestList({ManifestFileMeta{}}, AvroCodec::kNull);
  auto reader = AvroFileReader::Open(ours, "ours");
  ASSERT_TRUE(reader.ok());
  auto record = (*reader)->Next();
  ASSERT_TRUE(record.ok() && *record != nullptr);
  avro_value_t version;
  ASSERT_EQ(avro_value_get_by_name(*record, "_VERSION", &version, nullptr), 0);
  int32_t v = 0;
  avro_value_get_int(&version, &v);
  EXPECT_EQ(v, 2);
}

// decode -> encode (each codec) -> decode gives the same structs, for every golden file.
TEST(ManifestCodec, RoundTripsEveryGoldenManifest) {
  int checked = 0;
  for (const auto& dir : ManifestDirs()) {
    for (const auto& path : FilesWithPrefix(dir, /*list=*/false)) {
      auto decoded = DecodeManifestEntries(ReadFile(path), path.filename().string());
      ASSERT_TRUE(decoded.ok());
      for (AvroCodec codec : {AvroCodec::kZstd, AvroCodec::kDeflate, AvroCodec::kNull}) {
        auto encoded = EncodeManifestEntries(*decoded, codec);
        ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
        auto again = DecodeManifestEntries(*encoded, "encoded");
        ASSERT_TRUE(again.ok()) << again.status().ToString();
        EXPECT_EQ(*again, *decoded) << path;
        ++checked;
      }
    }
    for (const auto& path : FilesWithPrefix(dir, /*list=*/true)) {
      auto decoded = DecodeManifestList(ReadFile(path), path.filename().string());
      ASSERT_TRUE(decoded.ok());
      for (AvroCodec codec : {AvroCodec::kZstd, AvroCodec::kDeflate, AvroCodec::kNull}) {
        auto encoded = EncodeManifestList(*decoded, codec);
        ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
        auto again = DecodeManifestList(*encoded, "encoded");
        ASSERT_TRUE(again.ok()) << again.status().ToString();
        EXPECT_EQ(*again, *decoded) << path;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 500);
}

ManifestEntry RichEntry(int i) {
  ManifestEntry e;
  e.kind = i % 2 ? FileKind::kDelete : FileKind::kAdd;
  e.partition = EmptySerializedBinaryRow();
  e.bucket = i % 4;
  e.total_buckets = 4;
  DataFileMeta& f = e.file;
  f.file_name = "data-" + std::to_string(i) + ".parquet";
  f.file_size = 1000 + i;
  f.row_count = 10 * i + 1;
  f.min_key = std::string("\x00\x01\x02", 3);
  f.max_key = std::string(300, '\xff');
  f.key_stats = SimpleStats::Empty();
  f.value_stats.min_values = "min";
  f.value_stats.max_values = "max";
  f.value_stats.null_counts = {0, std::nullopt, int64_t{1} << 40, -1};
  f.min_sequence_number = -5;
  f.max_sequence_number = int64_t{1} << 50;
  f.schema_id = 3;
  f.level = 5;
  f.extra_files = {"a", std::string("with\0nul", 8)};
  f.creation_time_millis = 1758092512821;
  f.delete_row_count = 0;
  f.embedded_file_index = std::string(17, '\0');
  f.file_source = 1;
  f.value_stats_cols = std::vector<std::string>{"x", "y"};
  f.external_path = "s3://bucket/x";
  f.first_row_id = 42;
  f.write_cols = std::vector<std::string>{};
  return e;
}

TEST(ManifestCodec, RoundTripsEveryFieldAndManyBlocks) {
  std::vector<ManifestEntry> entries;
  for (int i = 0; i < 2000; ++i) entries.push_back(RichEntry(i));  // several 64 KB blocks
  entries[7].file.key_stats.null_counts_present = false;
  entries[8].file.creation_time_millis.reset();
  entries[8].file.value_stats_cols.reset();
  entries[8].file.write_cols.reset();
  for (AvroCodec codec : {AvroCodec::kZstd, AvroCodec::kDeflate, AvroCodec::kNull}) {
    auto encoded = EncodeManifestEntries(entries, codec);
    ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
    auto again = DecodeManifestEntries(*encoded, "rich");
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(*again, entries);
  }
  ManifestFileMeta m;
  m.file_name = "manifest-x-0";
  m.file_size = 99;
  m.num_added_files = 3;
  m.num_deleted_files = 1;
  m.partition_stats.null_counts_present = false;
  m.schema_id = 7;
  m.min_bucket = 0;
  m.max_bucket = 3;
  m.min_level = 0;
  m.max_level = 5;
  m.min_row_id = 0;
  m.max_row_id = 99;
  auto encoded = EncodeManifestList({m, ManifestFileMeta{}}, AvroCodec::kDeflate);
  ASSERT_TRUE(encoded.ok());
  auto again = DecodeManifestList(*encoded, "list");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, (std::vector<ManifestFileMeta>{m, ManifestFileMeta{}}));
}

TEST(ManifestCodec, EmptyFilesRoundTrip) {
  auto encoded = EncodeManifestEntries({}, AvroCodec::kZstd);
  ASSERT_TRUE(encoded.ok());
  auto again = DecodeManifestEntries(*encoded, "empty");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

// A missing required field is reported with the file and field names.
TEST(ManifestCodec, MissingFieldNamesFileAndField) {
  const std::string schema =
      R"({"type":"record","name":"record","fields":[{"name":"_VERSION","type":"int"},)"
      R"({"name":"_FILE_NAME","type":"string"}]})";
  auto writer = AvroFileWriter::Make(schema, AvroCodec::kNull);
  ASSERT_TRUE(writer.ok());
  avro_value_t f;
  ASSERT_EQ(avro_value_get_by_name((*writer)->record(), "_VERSION", &f, nullptr), 0);
  avro_value_set_int(&f, 2);
  ASSERT_EQ(avro_value_get_by_name((*writer)->record(), "_FILE_NAME", &f, nullptr), 0);
  avro_value_set_string(&f, "manifest-1");
  ASSERT_TRUE((*writer)->Append().ok());
  const std::string bytes = *(*writer)->Finish();
  auto decoded = DecodeManifestList(bytes, "manifest-list-3f-0");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().ToString(),
            "Invalid: manifest manifest-list-3f-0: field _FILE_SIZE missing");
}

// Every truncation of a real manifest (Avro and ORC) fails cleanly and names the file.
TEST(ManifestCodec, TruncatedInputFailsWithFileName) {
  const std::vector<fs::path> files = {
      TableDir("parquet/append_10.db/append_10/manifest/"
               "manifest-cbb4f054-1d6f-4237-a1c0-5a628b47c468-0"),
      TableDir("orc/append_10.db/append_10/manifest/"
               "manifest-73ba774f-6146-4dc6-84ac-9b8c97fffa24-0"),
  };
  for (const auto& path : files) {
    const std::string bytes = ReadFile(path);
    ASSERT_FALSE(bytes.empty());
    for (size_t len = 0; len < bytes.size(); ++len) {
      auto decoded = DecodeManifestEntries(std::string_view(bytes).substr(0, len), "manifest-cut");
      if (decoded.ok()) {
        // An Avro file cut exactly after a block is a valid shorter file.
        EXPECT_EQ(bytes.rfind("Obj", 0), 0u) << len;
        continue;
      }
      EXPECT_NE(decoded.status().message().find("manifest-cut"), std::string::npos)
          << decoded.status().ToString();
    }
  }
}

// Flipped bytes in an uncompressed Avro manifest never crash the decoder; failures name the file.
TEST(ManifestCodec, CorruptBytesNeverCrash) {
  std::vector<ManifestEntry> entries = {RichEntry(1), RichEntry(2)};
  const std::string good = *EncodeManifestEntries(entries, AvroCodec::kNull);
  int failures = 0;
  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[pos] = static_cast<char>(bad[pos] ^ flip);
      auto decoded = DecodeManifestEntries(bad, "manifest-bad");
      if (!decoded.ok()) {
        ++failures;
        EXPECT_NE(decoded.status().message().find("manifest-bad"), std::string::npos)
            << decoded.status().ToString();
      }
    }
  }
  EXPECT_GT(failures, 0);
  // Corrupt zstd payloads fail too.
  std::string zstd = *EncodeManifestEntries(entries, AvroCodec::kZstd);
  zstd[zstd.size() - 30] ^= 0x5a;
  EXPECT_FALSE(DecodeManifestEntries(zstd, "manifest-zstd").ok());
  EXPECT_FALSE(DecodeManifestEntries("", "manifest-empty").ok());
  EXPECT_FALSE(DecodeManifestEntries("PAR1", "manifest-parquet").ok());
}

}  // namespace
}  // namespace millpond::paimon
