// FastCDC: bounds, determinism, and boundaries that survive insertions (shift resistance).
#include <set>

#include <gtest/gtest.h>

#include "blob_test_util.h"
#include "millpond/blob/fastcdc.h"
#include "sha256.h"

namespace millpond::blob {
namespace {

using testing::RandomBytes;

std::vector<std::string> Chunks(const FastCdc& cdc, const std::string& data) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t n : cdc.Cut(data)) {
    out.push_back(data.substr(pos, n));
    pos += n;
  }
  return out;
}

TEST(FastCdcTest, RejectsSizesThatAreNotPowersOfTwo) {
  EXPECT_FALSE(FastCdc::Make(1000).ok());
  EXPECT_FALSE(FastCdc::Make(128).ok());
  ASSERT_TRUE(FastCdc::Make(65536).ok());
  EXPECT_EQ(FastCdc::Make(65536)->min_size(), 16384u);
  EXPECT_EQ(FastCdc::Make(65536)->max_size(), 262144u);
}

TEST(FastCdcTest, ChunksStayInBoundsAndAverageNearTheTarget) {
  auto cdc = *FastCdc::Make(64 * 1024);
  std::string data = RandomBytes(32 << 20, 11);
  auto cuts = cdc.Cut(data);
  size_t total = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    total += cuts[i];
    if (i + 1 < cuts.size()) {
      EXPECT_GE(cuts[i], cdc.min_size());
      EXPECT_LE(cuts[i], cdc.max_size());
    }
  }
  EXPECT_EQ(total, data.size());
  const double avg = static_cast<double>(data.size()) / static_cast<double>(cuts.size());
  EXPECT_GT(avg, 0.75 * 65536);
  EXPECT_LT(avg, 1.5 * 65536);
  EXPECT_EQ(cdc.Cut(data), cuts);  // a pure function of the bytes
}

TEST(FastCdcTest, BoundariesAreStableFormat) {
  // Golden cut points: changing the gear table, masks or rule changes them (and stops new
  // chunks deduplicating against stored ones). Update only deliberately, with the spec.
  auto cdc = *FastCdc::Make(4096);
  auto cuts = cdc.Cut(RandomBytes(64 * 1024, 2026));
  std::vector<size_t> first(cuts.begin(), cuts.begin() + 6);
  EXPECT_EQ(first, (std::vector<size_t>{5822, 4374, 4936, 3767, 4327, 4489}));
}

TEST(FastCdcTest, InsertionsAndDeletionsChangeOnlyNearbyChunks) {
  auto cdc = *FastCdc::Make(16 * 1024);
  std::string data = RandomBytes(8 << 20, 5);
  auto base = Chunks(cdc, data);
  std::set<std::string> base_set(base.begin(), base.end());
  auto shared = [&](const std::string& edited) {
    auto chunks = Chunks(cdc, edited);
    size_t same = 0;
    for (const auto& c : chunks) same += base_set.count(c);
    return static_cast<double>(same) / static_cast<double>(base.size());
  };
  // 100 bytes inserted in the middle, 1 byte at the front, 5000 bytes deleted.
  std::string ins = data.substr(0, 4 << 20) + RandomBytes(100, 9) + data.substr(4 << 20);
  std::string front = "x" + data;
  std::string del = data.substr(0, 3 << 20) + data.substr((3 << 20) + 5000);
  for (const auto* edited : {&ins, &front, &del}) {
    double s = shared(*edited);
    EXPECT_GT(s, 0.98) << "only the chunks around the edit may change";
  }
  // Fixed-size blocks would share nothing after a 1-byte shift; CDC resynchronizes at once.
}

}  // namespace
}  // namespace millpond::blob
