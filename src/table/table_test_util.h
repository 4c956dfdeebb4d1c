// Test-only fixture for the table tests: a fresh local warehouse (Catalog) per test, in a temp
// folder named after the test binary's prefix, the pid and the test, removed afterwards.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>

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

}  // namespace millpond::table
