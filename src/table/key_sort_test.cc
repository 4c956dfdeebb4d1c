#include "key_sort.h"

#include <random>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

namespace millpond::table {
namespace {

std::shared_ptr<arrow::RecordBatch> Buffer(int64_t n, int64_t keys, uint64_t seed,
                                           bool string_keys) {
  std::mt19937_64 rnd(seed);
  arrow::Int64Builder k, seq;
  arrow::StringBuilder sk;
  for (int64_t i = 0; i < n; ++i) {
    int64_t key = static_cast<int64_t>(rnd() % keys) - keys / 2;  // negatives too
    EXPECT_TRUE(k.Append(key).ok());
    EXPECT_TRUE(sk.Append("k" + std::to_string(key)).ok());
    EXPECT_TRUE(seq.Append(1000 + 3 * i).ok());
  }
  auto kf = string_keys ? arrow::field("k", arrow::utf8()) : arrow::field("k", arrow::int64());
  auto schema = arrow::schema({kf, arrow::field("_SEQUENCE_NUMBER", arrow::int64())});
  return arrow::RecordBatch::Make(
      schema, n, {string_keys ? *sk.Finish() : *k.Finish(), *seq.Finish()});
}

std::shared_ptr<arrow::Array> ArrowOrder(const arrow::RecordBatch& b) {
  arrow::compute::SortOptions o({arrow::compute::SortKey(arrow::FieldRef(0)),
                                 arrow::compute::SortKey(arrow::FieldRef(1))});
  return *arrow::compute::SortIndices(arrow::Datum(b), o);
}

TEST(KeySortTest, IntegerKeysSortLikeArrowWithDuplicatesInArrivalOrder) {
  for (uint64_t seed : {1, 2, 3}) {
    auto b = Buffer(50'000, 5'000, seed, /*string_keys=*/false);  // ~10 versions per key
    auto fast = SortKeyValueIndices(*b, {0}, {}, false, 1);
    ASSERT_TRUE(fast.ok()) << fast.status().ToString();
    EXPECT_TRUE((*fast)->Equals(*ArrowOrder(*b))) << "seed " << seed;
  }
}

TEST(KeySortTest, OtherKeysAndSequenceOrdersUseArrowsSort) {
  auto b = Buffer(10'000, 700, 7, /*string_keys=*/true);
  auto r = SortKeyValueIndices(*b, {0}, {}, false, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)->Equals(*ArrowOrder(*b)));
  // Sequence numbers that do not rise with the row: the (key, row) shortcut would be wrong.
  auto ints = Buffer(1'000, 10, 8, /*string_keys=*/false);
  arrow::Int64Builder falling;
  for (int64_t i = 0; i < ints->num_rows(); ++i) ASSERT_TRUE(falling.Append(5000 - i).ok());
  auto fb = *ints->SetColumn(1, ints->schema()->field(1), *falling.Finish());
  auto s = SortKeyValueIndices(*fb, {0}, {}, false, 1);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->Equals(*ArrowOrder(*fb)));
}

}  // namespace
}  // namespace millpond::table
