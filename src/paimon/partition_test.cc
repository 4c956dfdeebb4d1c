// Tests for partition paths against strings printed by Paimon Java and against the partition
// folders of the Java-written tables under MILLPOND_INTEROP_DIR (read in place).
#include "millpond/paimon/partition.h"

#include <filesystem>
#include <fstream>
#include <set>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <parquet/arrow/reader.h>

#include "millpond/paimon/binary_row.h"
#include "millpond/paimon/manifest.h"

namespace millpond::paimon {
namespace {

namespace fs = std::filesystem;

const fs::path kInterop = MILLPOND_INTEROP_DIR;

DataTypePtr T(const std::string& text) {
  auto t = ParseDataType(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ValueOrDie();
}
std::shared_ptr<arrow::Scalar> J(const DataTypePtr& t, const std::string& json) {
  auto arr = arrow::json::ArrayFromJSONString(ToArrowType(*t), "[" + json + "]");
  EXPECT_TRUE(arr.ok()) << json << ": " << arr.status().ToString();
  return arr.ValueOrDie()->GetScalar(0).ValueOrDie();
}
std::string Str(const std::shared_ptr<arrow::Scalar>& v, const std::string& type, bool legacy) {
  auto s = PartitionValueToString(v, *T(type), kDefaultPartitionName, legacy);
  EXPECT_TRUE(s.ok()) << type << ": " << s.status().ToString();
  return s.ok() ? *s : "<error>";
}

// Printed by a small Java program against paimon-bundle 1.4.2 with
// InternalRowPartitionComputer(...).generatePartValues(row) and
// PartitionPathUtils.generatePartitionPath(spec), for legacy names on and off.
TEST(PartitionTest, MatchesJavaPartitionPaths) {
  const std::vector<std::string> keys = {"d", "t", "ts3", "ts9", "f", "db", "dec", "b", "s", "ts0", "ts6"};
  std::vector<DataTypePtr> types = {T("DATE"), T("TIME"), T("TIMESTAMP(3)"), T("TIMESTAMP(9)"),
                                    T("FLOAT"), T("DOUBLE"), T("DECIMAL(10, 3)"), T("BOOLEAN"),
                                    T("STRING"), T("TIMESTAMP(0)"), T("TIMESTAMP(6)")};
  std::vector<std::shared_ptr<arrow::Scalar>> values = {
      J(types[0], "19909"), J(types[1], "45296789"), J(types[2], "1700000000120"),
      J(types[3], "1728555010100100100"), J(types[4], "1e10"), J(types[5], "0.001"),
      J(types[6], "\"-1.500\""), J(types[7], "false"),
      std::make_shared<arrow::StringScalar>("a/b=c%d:e#f?g h{}[]^\\\"'*\x7f\t"),
      J(types[9], "1700000000000"), J(types[10], "-1000000")};
  auto legacy = PartitionPath(keys, values, types, kDefaultPartitionName);
  ASSERT_TRUE(legacy.ok()) << legacy.status().ToString();
  EXPECT_EQ(*legacy,
            "d=19909/t=45296789/ts3=2023-11-14T22%3A13%3A20.120/"
            "ts9=2024-10-10T10%3A10%3A10.100100100/f=1.0E10/db=0.001/dec=-1.500/b=false/"
            "s=a%2Fb%3Dc%25d%3Ae%23f%3Fg h%7B%7D%5B%5D%5E%5C%22%27%2A%7F%09/"
            "ts0=2023-11-14T22%3A13%3A20/ts6=1969-12-31T23%3A59%3A59/");
  auto cast = PartitionPath(keys, values, types, kDefaultPartitionName, /*legacy_name=*/false);
  ASSERT_TRUE(cast.ok()) << cast.status().ToString();
  EXPECT_EQ(*cast,
            "d=2024-07-05/t=12%3A34%3A56/ts3=2023-11-14 22%3A13%3A20.120/"
            "ts9=2024-10-10 10%3A10%3A10.100100100/f=1.0E10/db=0.001/dec=-1.500/b=false/"
            "s=a%2Fb%3Dc%25d%3Ae%23f%3Fg h%7B%7D%5B%5D%5E%5C%22%27%2A%7F%09/"
            "ts0=2023-11-14 22%3A13%3A20/ts6=1969-12-31 23%3A59%3A59.000000/");
}

TEST(PartitionTest, NumbersPrintAsJava) {
  // Float.toString / Double.toString as printed by Java 17.
  const std::vector<std::pair<float, std::string>> floats = {
      {0.1f, "0.1"}, {1.0f, "1.0"}, {1.0e7f, "1.0E7"}, {9999999.0f, "9999999.0"},
      {0.001f, "0.001"}, {9.999e-4f, "9.999E-4"}, {123.456f, "123.456"}, {-0.0f, "-0.0"},
      {3.4028235e38f, "3.4028235E38"}, {1.4e-45f, "1.4E-45"}};
  for (const auto& [v, want] : floats) {
    EXPECT_EQ(Str(std::make_shared<arrow::FloatScalar>(v), "FLOAT", true), want) << want;
  }
  const std::vector<std::pair<double, std::string>> doubles = {
      {0.1, "0.1"}, {1.0, "1.0"}, {1.0e7, "1.0E7"}, {9999999.999, "9999999.999"},
      {0.001, "0.001"}, {9.999e-4, "9.999E-4"}, {123.456, "123.456"}, {-0.0, "-0.0"},
      {1.7976931348623157e308, "1.7976931348623157E308"}, {4.9e-324, "4.9E-324"},
      {2.0e22, "2.0E22"}, {1.0 / 3, "0.3333333333333333"}, {-1234.5, "-1234.5"}, {100.0, "100.0"}};
  for (const auto& [v, want] : doubles) {
    EXPECT_EQ(Str(std::make_shared<arrow::DoubleScalar>(v), "DOUBLE", true), want) << v;
  }
  EXPECT_EQ(Str(J(T("TINYINT"), "-128"), "TINYINT", true), "-128");
  EXPECT_EQ(Str(J(T("BIGINT"), "-9223372036854775808"), "BIGINT", true), "-9223372036854775808");
  EXPECT_EQ(Str(J(T("DECIMAL(20, 5)"), "\"-0.00000\""), "DECIMAL(20, 5)", true), "0.00000");
  EXPECT_EQ(Str(J(T("DECIMAL(5, 0)"), "\"12\""), "DECIMAL(5, 0)", true), "12");
  EXPECT_EQ(Str(J(T("BOOLEAN"), "true"), "BOOLEAN", false), "true");
}

TEST(PartitionTest, DatesAndTimes) {
  EXPECT_EQ(Str(J(T("DATE"), "0"), "DATE", false), "1970-01-01");
  EXPECT_EQ(Str(J(T("DATE"), "-1"), "DATE", false), "1969-12-31");
  EXPECT_EQ(Str(J(T("DATE"), "-25567"), "DATE", false), "1900-01-01");
  EXPECT_EQ(Str(J(T("DATE"), "-1"), "DATE", true), "-1");
  EXPECT_EQ(Str(J(T("TIME(3)"), "45296789"), "TIME(3)", false), "12:34:56.789");
  EXPECT_EQ(Str(J(T("TIME(3)"), "45296000"), "TIME(3)", false), "12:34:56.0");
  // LocalDateTime.toString drops zero seconds; CAST pads the fraction to the precision.
  EXPECT_EQ(Str(J(T("TIMESTAMP(3)"), "60000"), "TIMESTAMP(3)", true), "1970-01-01T00:01");
  EXPECT_EQ(Str(J(T("TIMESTAMP(3)"), "60000"), "TIMESTAMP(3)", false), "1970-01-01 00:01:00.000");
  EXPECT_EQ(Str(J(T("TIMESTAMP(6)"), "1500"), "TIMESTAMP(6)", true), "1970-01-01T00:00:00.001500");
  EXPECT_EQ(Str(J(T("TIMESTAMP(9)"), "-1"), "TIMESTAMP(9)", true), "1969-12-31T23:59:59.999999999");
  EXPECT_EQ(Str(J(T("TIMESTAMP(3) WITH LOCAL TIME ZONE"), "0"), "TIMESTAMP(3) WITH LOCAL TIME ZONE", false),
            "1970-01-01 00:00:00.000");
}

TEST(PartitionTest, BlankValuesUseTheDefaultName) {
  const auto s = T("STRING");
  for (const char* blank : {"", " ", "\t\n", "\xe3\x80\x80" /* U+3000 */}) {
    EXPECT_EQ(Str(std::make_shared<arrow::StringScalar>(blank), "STRING", true), kDefaultPartitionName);
  }
  EXPECT_EQ(Str(std::make_shared<arrow::StringScalar>("\xc2\xa0"), "STRING", true), "\xc2\xa0");  // NBSP
  EXPECT_EQ(Str(nullptr, "INT", true), kDefaultPartitionName);
  EXPECT_EQ(Str(arrow::MakeNullScalar(arrow::int32()), "INT", true), kDefaultPartitionName);
  auto p = PartitionPath({"a", "b"}, {nullptr, std::make_shared<arrow::StringScalar>("")}, {T("INT"), s},
                         "__HIVE_DEFAULT_PARTITION__");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, "a=__HIVE_DEFAULT_PARTITION__/b=__HIVE_DEFAULT_PARTITION__/");
  auto none = PartitionPath({}, {}, {}, kDefaultPartitionName);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
}

TEST(PartitionTest, EscapeAndUnescape) {
  std::string all;
  for (int c = 1; c < 128; ++c) all.push_back(static_cast<char>(c));
  all += "\xc3\xbc\xe6\xbc\xa2";  // non-ASCII passes through
  std::string escaped = EscapePathName(all);
  EXPECT_EQ(escaped.find('/'), std::string::npos);
  EXPECT_EQ(escaped.find('='), std::string::npos);
  EXPECT_EQ(escaped.find(':'), std::string::npos);
  EXPECT_EQ(UnescapePathName(escaped), all);
  EXPECT_EQ(EscapePathName("2025-04-14"), "2025-04-14");
  EXPECT_EQ(EscapePathName("a b"), "a b");
  EXPECT_EQ(EscapePathName("x/y"), "x%2Fy");
  // Java's unescapePathName leaves malformed escapes alone.
  EXPECT_EQ(UnescapePathName("a%2Fb%3dc%zz%4"), "a/b=c%zz%4");
  EXPECT_EQ(UnescapePathName("%"), "%");
}

TEST(PartitionTest, Errors) {
  EXPECT_FALSE(PartitionPath({"a"}, {}, {T("INT")}, kDefaultPartitionName).ok());
  EXPECT_FALSE(PartitionPath({""}, {nullptr}, {T("INT")}, kDefaultPartitionName).ok());
  EXPECT_FALSE(PartitionPath({"a"}, {nullptr}, {T("INT")}, "").ok());
  EXPECT_EQ(PartitionValueToString(J(T("ARRAY<INT>"), "[1]"), *T("ARRAY<INT>"), "d").status().code(),
            arrow::StatusCode::NotImplemented);
  auto bin = std::make_shared<arrow::BinaryScalar>("ab");
  EXPECT_EQ(PartitionValueToString(bin, *T("BYTES"), "d", true).status().code(),
            arrow::StatusCode::NotImplemented);
  EXPECT_EQ(*PartitionValueToString(bin, *T("BYTES"), "d", false), "ab");
  EXPECT_FALSE(PartitionValueToString(std::make_shared<arrow::StringScalar>("x"), *T("INT"), "d").ok());
  // An int64 for an INT partition is cast.
  EXPECT_EQ(*PartitionValueToString(std::make_shared<arrow::Int64Scalar>(7), *T("INT"), "d"), "7");
}

// ------------------------------------------------------------------------------------------
// Java-written tables
// ------------------------------------------------------------------------------------------

nlohmann::json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}
std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct TableSchema {
  std::vector<std::string> keys;
  std::vector<DataTypePtr> types;
  std::string default_name = kDefaultPartitionName;
};

TableSchema LoadSchema(const fs::path& schema_file) {
  nlohmann::json j = ReadJson(schema_file);
  TableSchema s;
  for (const auto& k : j["partitionKeys"]) {
    s.keys.push_back(k.get<std::string>());
    for (const auto& f : j["fields"]) {
      if (f["name"] == k) s.types.push_back(DataTypeFromJson(f["type"]).ValueOrDie());
    }
  }
  if (j["options"].contains("partition.default-name")) {
    s.default_name = j["options"]["partition.default-name"].get<std::string>();
  }
  return s;
}

/// Every row of every Parquet data file gives the partition path of the folders it lives in.
void CheckDataFilePartitions(const std::string& table, const std::string& schema_file,
                             std::set<std::string> expected_paths) {
  SCOPED_TRACE(table);
  const fs::path dir = kInterop / table;
  TableSchema schema = LoadSchema(dir / schema_file);
  ASSERT_FALSE(schema.keys.empty());
  std::set<std::string> seen;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().extension() != ".parquet") continue;
    std::string rel = fs::relative(entry.path().parent_path().parent_path(), dir).string() + "/";
    if (rel.rfind("branch/", 0) == 0) continue;
    auto file = arrow::io::ReadableFile::Open(entry.path().string()).ValueOrDie();
    auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie();
    auto t = reader->ReadTable().ValueOrDie()->CombineChunks().ValueOrDie();
    for (int64_t r = 0; r < t->num_rows(); ++r) {
      std::vector<std::shared_ptr<arrow::Scalar>> values;
      for (const auto& k : schema.keys) {
        auto col = t->GetColumnByName(k);
        ASSERT_NE(col, nullptr) << k;
        values.push_back(col->GetScalar(r).ValueOrDie());
      }
      auto path = PartitionPath(schema.keys, values, schema.types, schema.default_name);
      ASSERT_TRUE(path.ok()) << path.status().ToString();
      EXPECT_EQ(*path, rel) << entry.path() << " row " << r;
    }
    seen.insert(rel);
  }
  EXPECT_EQ(seen, expected_paths);
}

TEST(PartitionInteropTest, DataFilesLiveInTheirPartitionFolders) {
  // Null, "" and " " all land in the default partition; a custom default name is honoured.
  CheckDataFilePartitions("parquet/append_with_empty_partition.db/append_with_empty_partition",
                          "schema/schema-0",
                          {"f0=2024/", "f0=2025/", "f0=__DEFAULT_PARTITION__/"});
  CheckDataFilePartitions(
      "parquet/append_with_empty_partition_with_empty_value.db/append_with_empty_partition_with_empty_value",
      "schema/schema-0", {"f0=2024/", "f0=2025/", "f0=__DEFAULT_PARTITION__/"});
  CheckDataFilePartitions(
      "parquet/append_with_empty_partition_with_specific_name.db/append_with_empty_partition_with_specific_name",
      "schema/schema-0", {"f0=2024/", "f0=2025/", "f0=__HIVE_DEFAULT_PARTITION__/"});
  CheckDataFilePartitions("parquet/append_10.db/append_10", "schema/schema-0", {"f1=10/", "f1=20/"});
  CheckDataFilePartitions("parquet/pk_table_nested_type.db/pk_table_nested_type", "schema/schema-0",
                          {"dt=2025-04-14/hr=10/"});
  CheckDataFilePartitions("parquet/append_table_with_rt_branch.db/append_table_with_rt_branch",
                          "schema/schema-0", {"dt=20240725/", "dt=20240726/"});
}

TEST(PartitionInteropTest, ManifestPartitionRowsGiveTheFilePaths) {
  // The partition BinaryRows Java wrote into the manifests decode (nulls included) into values
  // whose PartitionPath is the folder of the entry's file.
  for (const char* table :
       {"parquet/append_with_empty_partition.db/append_with_empty_partition",
        "parquet/append_with_empty_partition_with_empty_value.db/append_with_empty_partition_with_empty_value",
        "parquet/append_with_empty_partition_with_specific_name.db/append_with_empty_partition_with_specific_name",
        "parquet/pk_table_nested_type.db/pk_table_nested_type"}) {
    SCOPED_TRACE(table);
    const fs::path dir = kInterop / table;
    TableSchema schema = LoadSchema(dir / "schema/schema-0");
    int checked = 0;
    bool saw_null = false;
    for (const auto& entry : fs::directory_iterator(dir / "manifest")) {
      std::string name = entry.path().filename().string();
      if (name.rfind("manifest-", 0) != 0 || name.rfind("manifest-list-", 0) == 0) continue;
      auto entries = DecodeManifestEntries(ReadFile(entry.path()), name);
      ASSERT_TRUE(entries.ok()) << name << ": " << entries.status().ToString();
      for (const auto& e : *entries) {
        auto values = DeserializeBinaryRow(e.partition, schema.types);
        ASSERT_TRUE(values.ok()) << values.status().ToString();
        for (const auto& v : *values) saw_null |= !v->is_valid;
        auto path = PartitionPath(schema.keys, *values, schema.types, schema.default_name);
        ASSERT_TRUE(path.ok()) << path.status().ToString();
        EXPECT_TRUE(fs::exists(dir / *path / ("bucket-" + std::to_string(e.bucket)) / e.file.file_name))
            << *path << e.file.file_name;
        // Re-encoding the decoded values gives Java's bytes back.
        auto again = SerializeBinaryRow(*values, schema.types);
        ASSERT_TRUE(again.ok());
        EXPECT_EQ(*again, e.partition);
        ++checked;
      }
    }
    EXPECT_GT(checked, 0);
    if (std::string(table).find("empty_partition") != std::string::npos) {
      EXPECT_TRUE(saw_null);
    }
  }
}

}  // namespace
}  // namespace millpond::paimon
