// S3 conditional PUT: SigV4 against AWS's published examples, and (when MILLPOND_TEST_S3_URI names
// a bucket prefix on a live server, as tests/test_s3.py does with versitygw) create-if-absent on
// S3: one winner among racing creators, never an overwrite.
#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "millpond/fs/file_system.h"
#include "s3_put.h"

namespace millpond::fs {
namespace {

// docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Example: GET Object".
TEST(SigV4Test, AwsGetObjectExample) {
  internal::SigV4Request r;
  r.method = "GET";
  r.canonical_uri = "/test.txt";
  r.payload_sha256 = internal::Sha256Hex("");
  r.amz_date = "20130524T000000Z";
  r.region = "us-east-1";
  r.access_key = "AKIAIOSFODNN7EXAMPLE";
  r.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"range", "bytes=0-9"},
               {"x-amz-content-sha256", r.payload_sha256},
               {"x-amz-date", r.amz_date}};
  EXPECT_EQ(internal::SigV4Authorization(r),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// The same page, "Example: PUT Object" (a key that needs encoding, a Date header).
TEST(SigV4Test, AwsPutObjectExample) {
  internal::SigV4Request r;
  r.method = "PUT";
  r.canonical_uri = internal::UriEncodePath("/test$file.text");
  EXPECT_EQ(r.canonical_uri, "/test%24file.text");
  r.payload_sha256 = internal::Sha256Hex("Welcome to Amazon S3.");
  EXPECT_EQ(r.payload_sha256, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  r.amz_date = "20130524T000000Z";
  r.region = "us-east-1";
  r.access_key = "AKIAIOSFODNN7EXAMPLE";
  r.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  r.headers = {{"date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-date", r.amz_date},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", r.payload_sha256}};
  EXPECT_EQ(internal::SigV4Authorization(r),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, PathEncodingKeepsSlashesAndUnreserved) {
  EXPECT_EQ(internal::UriEncodePath("db.db/t/line=L 3/a~b_c-d.parquet"),
            "db.db/t/line%3DL%203/a~b_c-d.parquet");
}

TEST(RedactUriTest, HidesCredentialsOnly) {
  EXPECT_EQ(RedactUri("s3://AK:SECRET@bucket/p?x=1"), "s3://***@bucket/p?x=1");
  EXPECT_EQ(RedactUri("s3://bucket/p?x=a@b"), "s3://bucket/p?x=a@b");
  EXPECT_EQ(RedactUri("/local/a@b"), "/local/a@b");
}

class S3FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* uri = std::getenv("MILLPOND_TEST_S3_URI");
    if (!uri || !*uri) GTEST_SKIP() << "MILLPOND_TEST_S3_URI is not set (tests/test_s3.py sets it)";
    auto f = FileSystem::Make(uri, &root_);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    fs_ = *f;
    ASSERT_FALSE(fs_->is_local());
    root_ = JoinPath(root_, "fs_test_" + std::to_string(std::random_device{}()));
  }

  std::string root_;
  std::shared_ptr<FileSystem> fs_;
};

TEST_F(S3FileSystemTest, CreateIfAbsentCreatesOnceAndNeverOverwrites) {
  std::string path = JoinPath(root_, "snapshot/snapshot-1");
  auto first = fs_->CreateIfAbsent(path, "first");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*first);
  auto second = fs_->CreateIfAbsent(path, "second");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(*second);
  EXPECT_EQ(*fs_->ReadFile(path), "first");
}

TEST_F(S3FileSystemTest, RacingCreatorsHaveExactlyOneWinner) {
  for (int round = 0; round < 5; ++round) {
    std::string path = JoinPath(root_, "race-" + std::to_string(round));
    std::atomic<int> wins{0}, errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        auto r = fs_->CreateIfAbsent(path, "writer-" + std::to_string(i));
        if (!r.ok()) ++errors;
        if (r.ok() && *r) ++wins;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(wins.load(), 1) << path;
  }
}

TEST_F(S3FileSystemTest, AtomicWriteReplacesAndMissingFilesFail) {
  std::string path = JoinPath(root_, "LATEST");
  ASSERT_TRUE(fs_->WriteFileAtomic(path, "1").ok());
  ASSERT_TRUE(fs_->WriteFileAtomic(path, "22").ok());
  EXPECT_EQ(*fs_->ReadFile(path), "22");
  EXPECT_FALSE(fs_->ReadFile(JoinPath(root_, "nope/file")).ok());
  auto listing = fs_->List(JoinPath(root_, "nope"));
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  EXPECT_TRUE(listing->empty());
}

}  // namespace
}  // namespace millpond::fs
