// Tier policies and moves: parsing, placement by age and idle time, cold recompression, and
// readers that keep reading while packs move under them.
#include <thread>

#include "blob_test_util.h"
#include "millpond/blob/inspect.h"
#include "millpond/blob/tiers.h"

namespace millpond::blob {
namespace {

using testing::BlobTest;
using testing::kDay;
using testing::LogText;
using testing::RandomBytes;

TEST(TierPolicyTest, ParsesTheYamlSubsetAndJson) {
  const char* yaml = R"(# placement
tiers:
  cold: /mnt/archive   # a folder
zstd_level_cold: 15
rules:
  - tier: cold
    min_age: 30d
    min_idle: 7d
  - tier: warm
    min_idle: 2d
  - tier: hot
)";
  auto p = TierPolicy::Parse(yaml, "policy.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->rules.size(), 3u);
  EXPECT_EQ(p->rules[0].tier, "cold");
  EXPECT_EQ(p->rules[0].min_age_millis, 30 * kDay);
  EXPECT_EQ(p->rules[0].min_idle_millis, 7 * kDay);
  EXPECT_EQ(p->rules[1].min_age_millis, -1);
  EXPECT_EQ(p->locations.at("cold"), "/mnt/archive");
  EXPECT_EQ(p->zstd_level_cold, 15);
  EXPECT_EQ(p->TierFor(40 * kDay, 8 * kDay), "cold");
  EXPECT_EQ(p->TierFor(40 * kDay, 3 * kDay), "warm");
  EXPECT_EQ(p->TierFor(40 * kDay, 1 * kDay), "hot");

  auto j = TierPolicy::Parse(R"({"rules":[{"tier":"warm","min_age":"12h"}]})", "p.json");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(j->TierFor(13 * 3600 * 1000, 0), "warm");
  EXPECT_EQ(j->TierFor(1000, 0), "");

  auto typo = TierPolicy::Parse("rules:\n  - tier: cold\n    min_ag: 3d\n", "p.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("min_ag"), std::string::npos);
  auto bad_tier = TierPolicy::Parse("rules:\n  - tier: glacier\n", "p.yaml");
  EXPECT_FALSE(bad_tier.ok());
  auto bad_duration = TierPolicy::Parse("rules:\n  - tier: cold\n    min_age: soon\n", "p.yaml");
  ASSERT_FALSE(bad_duration.ok());
  EXPECT_NE(bad_duration.status().message().find("soon"), std::string::npos);
  EXPECT_FALSE(TierPolicy::Parse("{not json", "p.json").ok());
}

class BlobTierTest : public BlobTest {
 protected:
  void SetUp() override {
    BlobTest::SetUp();
    options_.average_chunk_size = 4096;
    options_.small_blob_threshold = 4096;
  }
  Result<TierReport> Apply(const std::string& policy_text) {
    MP_ASSIGN_OR_RAISE(auto policy, TierPolicy::Parse(policy_text, "test policy"));
    return ApplyTierPolicy(fs_, root_, policy, {}, options_);
  }
  std::map<std::string, std::pair<int64_t, int64_t>> Tiers() {
    return ComputeStats(fs_, root_, options_)->tiers;
  }
};

TEST_F(BlobTierTest, PacksMoveByAgeAndIdleTimeAndStayReadable) {
  std::string old_blob = RandomBytes(100000, 1), new_blob = RandomBytes(100000, 2);
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put(old_blob).status());
    MP_ASSERT_OK(store->Flush());
    clock_.Advance(20 * kDay);
    MP_ASSERT_OK(store->Put(new_blob).status());
    MP_ASSERT_OK(store->Flush());
  }
  clock_.Advance(5 * kDay);
  MP_ASSERT_OK_AND_ASSIGN(auto cached, OpenStore());  // holds open packs across the move
  EXPECT_EQ(ReadAll(*cached, BlobId::Of(new_blob)), new_blob);  // records an access
  clock_.Advance(15 * kDay);
  // Now: old pack 40 days idle, new pack 15 days idle (read 15 days ago).
  MP_ASSERT_OK_AND_ASSIGN(auto r, ApplyTierPolicy(fs_, root_, TierPolicy::Default(), {}, options_));
  EXPECT_EQ(r.packs, 2);
  EXPECT_EQ(r.moved, 2);
  EXPECT_EQ(r.packs_per_tier["cold"], 1);
  EXPECT_EQ(r.packs_per_tier["warm"], 1);
  EXPECT_EQ(r.packs_per_tier["hot"], 0);
  EXPECT_EQ(ReadAll(*cached, BlobId::Of(old_blob)), old_blob);
  EXPECT_EQ(ReadAll(*cached, BlobId::Of(new_blob)), new_blob);
  MP_ASSERT_OK_AND_ASSIGN(auto fresh, OpenStore());
  EXPECT_EQ(ReadAll(*fresh, BlobId::Of(old_blob)), old_blob);
  MP_ASSERT_OK_AND_ASSIGN(BlobStat st, fresh->Stat(BlobId::Of(old_blob)));
  EXPECT_EQ(st.packs[0].rfind("cold/", 0), 0u);
  // Reading makes a pack hot again under a policy keyed on idle time.
  MP_ASSERT_OK_AND_ASSIGN(auto back, Apply("rules:\n  - tier: cold\n    min_idle: 1d\n"
                                           "  - tier: hot\n"));
  EXPECT_EQ(back.packs_per_tier["hot"], 2);  // both were read just now
  auto v = VerifyStore(fs_, root_, {}, options_);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok()) << v->problems.front();
}

TEST_F(BlobTierTest, ColdRewriteRecompressesWithoutChangingIds) {
  std::string log = LogText(2 << 20, 5);
  std::string photo = "\xFF\xD8\xFF\xE0" + RandomBytes(300000, 6);
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put(log).status());
    MP_ASSERT_OK(store->Put(photo).status());
    MP_ASSERT_OK(store->Flush());
  }
  const int64_t hot_stored = ComputeStats(fs_, root_, options_)->classes["text"].stored_bytes;
  MP_ASSERT_OK_AND_ASSIGN(auto r, Apply("zstd_level_cold: 19\nrules:\n  - tier: cold\n"));
  EXPECT_EQ(r.rewritten, 1);
  EXPECT_EQ(r.packs_per_tier["cold"], 1);
  auto stats = *ComputeStats(fs_, root_, options_);
  EXPECT_LT(stats.classes["text"].stored_bytes, hot_stored);
  EXPECT_EQ(stats.classes["jpeg"].stored_bytes, stats.classes["jpeg"].raw_bytes);
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  EXPECT_EQ(ReadAll(*store, BlobId::Of(log)), log);
  EXPECT_EQ(ReadAll(*store, BlobId::Of(photo)), photo);
  // Already cold-compressed: moving back and forth copies, never recompresses again.
  MP_ASSERT_OK_AND_ASSIGN(auto warm, Apply("rules:\n  - tier: warm\n"));
  EXPECT_EQ(warm.moved, 1);
  MP_ASSERT_OK_AND_ASSIGN(auto cold, Apply("rules:\n  - tier: cold\n"));
  EXPECT_EQ(cold.moved, 1);
  EXPECT_EQ(cold.rewritten, 0);
  auto v = VerifyStore(fs_, root_, {}, options_);
  EXPECT_TRUE(v->ok()) << v->problems.front();
}

TEST_F(BlobTierTest, ReadersNeverFailWhilePacksMove) {
  options_.target_pack_size = 128 * 1024;
  std::vector<std::string> blobs;
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    for (int i = 0; i < 30; ++i) {
      blobs.push_back(i % 2 ? LogText(30000 + i, i) : RandomBytes(30000 + i, i));
      MP_ASSERT_OK(store->Put(blobs.back()).status());
    }
    MP_ASSERT_OK(store->Flush());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::string> errors(3);
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      auto store = OpenStore();
      if (!store.ok()) {
        errors[t] = store.status().ToString();
        return;
      }
      std::mt19937_64 rng(t);
      for (int n = 0; !stop && errors[t].empty(); ++n) {
        if (n % 10 == 9) {  // also readers that find the packs from scratch
          store = OpenStore();
          if (!store.ok()) {
            errors[t] = store.status().ToString();
            break;
          }
        }
        const std::string& d = blobs[rng() % blobs.size()];
        const int64_t at = static_cast<int64_t>(rng() % 1000);
        auto got = (*store)->Get(BlobId::Of(d), at, 20000);
        if (!got.ok()) {
          errors[t] = got.status().ToString();
        } else if ((*got)->ToString() != d.substr(at, 20000)) {
          errors[t] = "wrong bytes";
        }
        ++reads;
      }
    });
  }
  // Hot -> cold (recompressed: new packs, new segment) -> warm -> hot -> cold (copies).
  for (const char* tier : {"cold", "warm", "hot", "cold", "hot"}) {
    const int before = reads.load();
    MP_ASSERT_OK(Apply(std::string("rules:\n  - tier: ") + tier + "\n").status());
    while (reads.load() < before + 30 && errors[0].empty()) std::this_thread::yield();
  }
  stop = true;
  for (auto& r : readers) r.join();
  for (const auto& e : errors) EXPECT_TRUE(e.empty()) << e;
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
  for (const auto& d : blobs) EXPECT_EQ(ReadAll(*store, BlobId::Of(d)), d);
}

TEST_F(BlobTierTest, ATierHoldingPacksCannotBeRelocated) {
  {
    MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());
    MP_ASSERT_OK(store->Put(RandomBytes(10000, 3)).status());
    MP_ASSERT_OK(store->Flush());
  }
  auto moved = Apply("tiers:\n  hot: /elsewhere\nrules:\n  - tier: hot\n");
  ASSERT_FALSE(moved.ok());
  EXPECT_NE(moved.status().message().find("holds 1 packs"), std::string::npos);
  // An empty tier can be pointed somewhere else; packs then go there.
  auto archive = dir_ / "archive";
  MP_ASSERT_OK(Apply("tiers:\n  cold: " + archive.string() + "\nrules:\n  - tier: cold\n")
                   .status());
  EXPECT_TRUE(std::filesystem::exists(archive / "packs"));
  MP_ASSERT_OK_AND_ASSIGN(auto store, OpenStore());  // reads _blobs/tiers.json
  EXPECT_EQ(ReadAll(*store, BlobId::Of(RandomBytes(10000, 3))), RandomBytes(10000, 3));
}

}  // namespace
}  // namespace millpond::blob
