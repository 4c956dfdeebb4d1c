// FileSystem tests on the local disk: the create-if-absent primitive commits rely on.
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "millpond/fs/file_system.h"

namespace millpond::fs {
namespace {

class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("millpond_fs_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto f = FileSystem::Make(dir_.string(), &root_);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    fs_ = *f;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string root_;
  std::shared_ptr<FileSystem> fs_;
};

TEST_F(FileSystemTest, CreateIfAbsentCreatesOnceAndNeverOverwrites) {
  std::string path = JoinPath(root_, "snapshot/snapshot-1");
  auto first = fs_->CreateIfAbsent(path, "first");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*first);
  auto second = fs_->CreateIfAbsent(path, "second");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  EXPECT_EQ(*fs_->ReadFile(path), "first");
  // No temp files are left visible next to the target.
  auto listing = fs_->List(JoinPath(root_, "snapshot"));
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->size(), 1u);
  EXPECT_EQ((*listing)[0].base_name(), "snapshot-1");
}

TEST_F(FileSystemTest, RacingCreatorsHaveExactlyOneWinner) {
  std::string path = JoinPath(root_, "race");
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = fs_->CreateIfAbsent(path, "writer-" + std::to_string(i));
      if (r.ok() && *r) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(fs_->ReadFile(path)->rfind("writer-", 0), 0u);
}

TEST_F(FileSystemTest, AtomicWriteReplacesWholeFile) {
  std::string path = JoinPath(root_, "LATEST");
  ASSERT_TRUE(fs_->WriteFileAtomic(path, "1").ok());
  ASSERT_TRUE(fs_->WriteFileAtomic(path, "22").ok());
  EXPECT_EQ(*fs_->ReadFile(path), "22");
}

TEST_F(FileSystemTest, ListingAMissingFolderIsEmptyAndReadingAMissingFileFails) {
  auto listing = fs_->List(JoinPath(root_, "nope"));
  ASSERT_TRUE(listing.ok());
  EXPECT_TRUE(listing->empty());
  EXPECT_FALSE(fs_->ReadFile(JoinPath(root_, "nope/file")).ok());
}

// Streamed copies: content exact across pieces, the target whole or absent, no temp left.
TEST_F(FileSystemTest, CopyFileAtomicStreamsInPiecesAndLeavesNoTempFiles) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += static_cast<char>(i * 131 % 251);
  const std::string from = JoinPath(root_, "a/pack.bin"), to = JoinPath(root_, "b/c/pack.bin");
  ASSERT_TRUE(fs_->WriteFile(from, data).ok());
  auto copied = fs_->CopyFileAtomic(from, *fs_, to, /*piece=*/4096);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(*copied, static_cast<int64_t>(data.size()));
  EXPECT_EQ(*fs_->ReadFile(to), data);
  auto listing = fs_->List(JoinPath(root_, "b/c"));
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->size(), 1u);
  EXPECT_EQ(listing->front().base_name(), "pack.bin");
  auto missing = fs_->CopyFileAtomic(JoinPath(root_, "a/none.bin"), *fs_, JoinPath(root_, "b/x"));
  EXPECT_FALSE(missing.ok());
  EXPECT_FALSE(*fs_->Exists(JoinPath(root_, "b/x")));
}

TEST(JoinPathTest, OneSlashBetweenParts) {
  EXPECT_EQ(JoinPath("/a/", "/b"), "/a/b");
  EXPECT_EQ(JoinPath("/a", "b/c"), "/a/b/c");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

}  // namespace
}  // namespace millpond::fs
