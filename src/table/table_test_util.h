// Test-only fixture for the table tests: a fresh local warehouse (Catalog) per test, in a temp
// folder named after the test binary's prefix, the pid and the test, removed afterwards.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <gtest/gtest.h>

#include "millpond/table/catalog.h"

namespace millpond::table {

class WarehouseTest : public ::testing::Test {
 protected:
  /// `prefix` names the temp folder ("millpond_table_test_").
  explicit WarehouseTest(std::string prefix) : prefix_(std::move(prefix)) {}

  void SetUp() override {
    ASSERT_TRUE(arrow::compute::Initialize().ok());
    dir_ = std::filesystem::temp_directory_path() /
           (prefix_ + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto c = Catalog::Open(dir_.string(), /*create_if_missing=*/true);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(*c);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::unique_ptr<Catalog> catalog_;

 private:
  std::string prefix_;
};

/// Rows [first, first + n) of (id BIGINT, line STRING "L<id % lines>", value INT id * 10).
inline std::shared_ptr<arrow::RecordBatch> IdLineValueBatch(int64_t first, int64_t n, int lines) {
  arrow::Int64Builder ids;
  arrow::StringBuilder line;
  arrow::Int32Builder values;
  for (int64_t i = first; i < first + n; ++i) {
    EXPECT_TRUE(ids.Append(i).ok());
    EXPECT_TRUE(line.Append("L" + std::to_string(i % lines)).ok());
    EXPECT_TRUE(values.Append(static_cast<int32_t>(i * 10)).ok());
  }
  auto schema = arrow::schema({arrow::field("id", arrow::int64()), arrow::field("line", arrow::utf8()),
                               arrow::field("value", arrow::int32())});
  return arrow::RecordBatch::Make(schema, n, {*ids.Finish(), *line.Finish(), *values.Finish()});
}

}  // namespace millpond::table
