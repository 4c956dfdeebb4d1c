// Sparkplug B: topics, payload decoding (signed values from their unsigned carriers), and the
// host state machine (births, aliases, sequence gaps, deaths, rebirth requests).
#include "millpond/ingest/sparkplug.h"

#include <gtest/gtest.h>

#include "sparkplug_b.pb.h"

namespace millpond::ingest::sparkplug {
namespace {

namespace pb = millpond::sparkplug;

TEST(SparkplugTopic, ParsesEveryMessageType) {
  auto t = ParseTopic("spBv1.0/Plant1/DDATA/Edge-7/Press 3");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->type, MessageType::kDData);
  EXPECT_EQ(t->group, "Plant1");
  EXPECT_EQ(t->node, "Edge-7");
  EXPECT_EQ(t->device, "Press 3");
  t = ParseTopic("spBv1.0/G/NBIRTH/N");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->type, MessageType::kNBirth);
  EXPECT_TRUE(t->device.empty());
  t = ParseTopic("spBv1.0/STATE/scada-1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->type, MessageType::kState);
  EXPECT_EQ(t->node, "scada-1");
  for (const char* bad : {"spAv1.0/G/NDATA/N", "spBv1.0/G/NDATA", "spBv1.0/G/NDATA/N/D",
                          "spBv1.0/G/DDATA/N", "spBv1.0/G/XDATA/N", "spBv1.0//NDATA/N",
                          "plant/line1/temp"}) {
    EXPECT_FALSE(ParseTopic(bad).ok()) << bad;
  }
  EXPECT_EQ(NodeCommandTopic("G", "N"), "spBv1.0/G/NCMD/N");
  EXPECT_EQ(StatePayload(true, 42), "{\"online\":true,\"timestamp\":42}");
}

RawValue Int(uint64_t bits) {
  RawValue v;
  v.kind = RawValue::Kind::kInt;
  v.bits = bits;
  return v;
}
RawValue Long(uint64_t bits) {
  RawValue v;
  v.kind = RawValue::Kind::kLong;
  v.bits = bits;
  return v;
}

TEST(SparkplugValue, SignedIntegersComeFromTwosComplementCarriers) {
  // Int8 -5 travels as uint32 0xFB (8-bit two's complement) or sign-extended 0xFFFFFFFB.
  EXPECT_EQ(std::get<int64_t>(*DecodeValue(Int(0xFB), kInt8)), -5);
  EXPECT_EQ(std::get<int64_t>(*DecodeValue(Int(0xFFFFFFFB), kInt8)), -5);
  EXPECT_EQ(std::get<int64_t>(*DecodeValue(Int(0x7F), kInt8)), 127);
  EXPECT_EQ(std::get<int64_t>(*DecodeValue(Int(0x8000), kInt16)), -32768);
  EXPECT_EQ(std::get<int64_t>(*DecodeValue(Int(0xFFFF8000), kInt16)), -32768);
  EXPECT_EQ(std::get<int64_t>(*DecodeValue(Int(0x80000000), kInt32)), INT32_MIN);
  EXPECT_EQ(std::get<int64_t>(*DecodeValue(Int(0xFFFFFFFF), kInt32)), -1);
  EXPECT_EQ(std::get<int64_t>(*DecodeValue(Long(0xFFFFFFFFFFFFFFFEull), kInt64)), -2);
  // Unsigned types keep their full range.
  EXPECT_EQ(std::get<int64_t>(*DecodeValue(Int(0xFB), kUInt8)), 251);
  EXPECT_EQ(std::get<int64_t>(*DecodeValue(Int(0xFFFFFFFF), kUInt32)), 4294967295ll);
  EXPECT_EQ(std::get<int64_t>(*DecodeValue(Long(1ull << 62), kUInt64)), 1ll << 62);
  EXPECT_DOUBLE_EQ(std::get<double>(*DecodeValue(Long(0xFFFFFFFFFFFFFFFFull), kUInt64)),
                   18446744073709551615.0);
  // DateTime is ms since the epoch.
  EXPECT_EQ(std::get<Timestamp>(*DecodeValue(Long(1700000000123ull), kDateTime)).micros,
            1700000000123000ll);
  RawValue s;
  s.kind = RawValue::Kind::kString;
  s.text = "on";
  EXPECT_EQ(std::get<std::string>(*DecodeValue(s, kString)), "on");
  EXPECT_FALSE(DecodeValue(s, kInt32).ok());               // wrong carrier
  EXPECT_TRUE(DecodeValue(s, kDataSet).status().IsNotImplemented());
}

// Builds payloads as an edge node would.
struct Edge {
  uint64_t seq = 0;
  pb::Payload Birth(int64_t bd_seq) {
    pb::Payload p;
    p.set_timestamp(1000);
    p.set_seq(seq = 0);
    auto* bd = p.add_metrics();
    bd->set_name("bdSeq");
    bd->set_datatype(kInt64);
    bd->set_long_value(static_cast<uint64_t>(bd_seq));
    auto* m = p.add_metrics();
    m->set_name("Node/Uptime");
    m->set_alias(1);
    m->set_datatype(kInt64);
    m->set_long_value(7);
    return p;
  }
  pb::Payload DeviceBirth() {
    pb::Payload p;
    p.set_timestamp(1100);
    p.set_seq(seq = (seq + 1) % 256);
    auto* t = p.add_metrics();
    t->set_name("Temperature");
    t->set_alias(10);
    t->set_datatype(kFloat);
    t->set_float_value(20.5f);
    auto* props = t->mutable_properties();
    props->add_keys("engUnit");
    props->add_values()->set_string_value("degC");
    auto* o = p.add_metrics();
    o->set_name("Offset");
    o->set_alias(11);
    o->set_datatype(kInt8);
    o->set_int_value(0xFB);
    return p;
  }
  pb::Payload Data(uint64_t alias, uint32_t int_bits, int64_t ts = 1200) {
    pb::Payload p;
    p.set_timestamp(ts);
    p.set_seq(seq = (seq + 1) % 256);
    auto* m = p.add_metrics();
    m->set_alias(alias);
    m->set_timestamp(static_cast<uint64_t>(ts));
    if (alias == 10) {
      m->set_float_value(static_cast<float>(int_bits));
    } else {
      m->set_int_value(int_bits);
    }
    auto* props = m->mutable_properties();
    props->add_keys("Quality");
    props->add_values()->set_int_value(192);
    return p;
  }
};

Event Feed(HostState* h, const std::string& topic, const pb::Payload& p, int64_t now = 5000) {
  auto t = ParseTopic(topic);
  EXPECT_TRUE(t.ok()) << t.status();
  auto decoded = DecodePayload(p.SerializeAsString());
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  return h->Process(*t, *decoded, now);
}

TEST(SparkplugHost, BirthsDefineAliasesThatDataUses) {
  HostState h;
  Edge e;
  Event ev = Feed(&h, "spBv1.0/G/NBIRTH/N", e.Birth(3));
  ASSERT_EQ(ev.state.size(), 1u);
  EXPECT_TRUE(ev.state[0].online);
  EXPECT_EQ(ev.state[0].bd_seq, 3);
  ev = Feed(&h, "spBv1.0/G/DBIRTH/N/D", e.DeviceBirth());
  EXPECT_FALSE(ev.rebirth);
  ASSERT_EQ(ev.metrics.size(), 2u);
  EXPECT_EQ(ev.metrics[0].unit, "degC");
  EXPECT_EQ(std::get<int64_t>(ev.metrics[1].value), -5);
  EXPECT_TRUE(h.Online("G", "N", "D"));

  ev = Feed(&h, "spBv1.0/G/DDATA/N/D", e.Data(11, 0xFFFFFF9C));  // Int8 -100 by alias
  EXPECT_FALSE(ev.rebirth) << ev.rebirth_reason;
  EXPECT_TRUE(ev.error.empty());
  ASSERT_EQ(ev.metrics.size(), 1u);
  EXPECT_EQ(ev.metrics[0].name, "Offset");
  EXPECT_EQ(ev.metrics[0].datatype, static_cast<uint32_t>(kInt8));
  EXPECT_EQ(std::get<int64_t>(ev.metrics[0].value), -100);
  EXPECT_EQ(ev.metrics[0].quality, 192);
  EXPECT_EQ(ev.metrics[0].timestamp_ms, 1200);
  ev = Feed(&h, "spBv1.0/G/DDATA/N/D", e.Data(10, 21));
  EXPECT_EQ(ev.metrics[0].name, "Temperature");
  EXPECT_EQ(ev.metrics[0].unit, "degC");
  EXPECT_DOUBLE_EQ(std::get<double>(ev.metrics[0].value), 21.0);
}

TEST(SparkplugHost, GapsUnknownAliasesAndDataBeforeBirthAskForRebirth) {
  HostState h;
  Edge e;
  // Data from a node never born: the whole message is a dead letter and a rebirth is asked.
  Event ev = Feed(&h, "spBv1.0/G/DDATA/N/D", e.Data(10, 1), 1000);
  EXPECT_FALSE(ev.error.empty());
  EXPECT_TRUE(ev.rebirth);
  // Asked again only after the back-off.
  EXPECT_FALSE(Feed(&h, "spBv1.0/G/DDATA/N/D", e.Data(10, 1), 2000).rebirth);
  EXPECT_TRUE(Feed(&h, "spBv1.0/G/DDATA/N/D", e.Data(10, 1), 7000).rebirth);

  Feed(&h, "spBv1.0/G/NBIRTH/N", e.Birth(1));
  // Device data before its DBIRTH: unknown device.
  ev = Feed(&h, "spBv1.0/G/DDATA/N/D", e.Data(10, 1), 8000);
  EXPECT_NE(ev.error.find("unknown device"), std::string::npos) << ev.error;
  EXPECT_TRUE(ev.rebirth);

  HostState h2;
  Edge e2;
  Feed(&h2, "spBv1.0/G/NBIRTH/N", e2.Birth(1));
  Feed(&h2, "spBv1.0/G/DBIRTH/N/D", e2.DeviceBirth());
  ev = Feed(&h2, "spBv1.0/G/DDATA/N/D", e2.Data(99, 1));
  ASSERT_EQ(ev.metrics.size(), 1u);
  EXPECT_NE(ev.metrics[0].error.find("unknown alias 99"), std::string::npos);
  EXPECT_TRUE(ev.rebirth);

  HostState h3;
  Edge e3;
  Feed(&h3, "spBv1.0/G/NBIRTH/N", e3.Birth(1));
  Feed(&h3, "spBv1.0/G/DBIRTH/N/D", e3.DeviceBirth());
  e3.seq += 2;  // two messages lost
  ev = Feed(&h3, "spBv1.0/G/DDATA/N/D", e3.Data(10, 5));
  EXPECT_TRUE(ev.rebirth);
  EXPECT_NE(ev.rebirth_reason.find("sequence gap"), std::string::npos);
  EXPECT_EQ(ev.metrics.size(), 1u);  // the data itself is still good
  EXPECT_TRUE(ev.metrics[0].error.empty());
  // seq wraps 255 -> 0 without a gap.
  e3.seq = 254;
  Feed(&h3, "spBv1.0/G/DDATA/N/D", e3.Data(10, 5), 20000);
  ev = Feed(&h3, "spBv1.0/G/DDATA/N/D", e3.Data(10, 5), 20001);
  EXPECT_EQ(e3.seq, 0u);
  EXPECT_FALSE(ev.rebirth);
}

TEST(SparkplugHost, DeathsTakeNodeAndDevicesOfflineUnlessStale) {
  HostState h;
  Edge e;
  Feed(&h, "spBv1.0/G/NBIRTH/N", e.Birth(5));
  Feed(&h, "spBv1.0/G/DBIRTH/N/D1", e.DeviceBirth());
  Feed(&h, "spBv1.0/G/DBIRTH/N/D2", e.DeviceBirth());
  pb::Payload stale;
  auto* bd = stale.add_metrics();
  bd->set_name("bdSeq");
  bd->set_long_value(4);  // the will of an older session
  Event ev = Feed(&h, "spBv1.0/G/NDEATH/N", stale);
  EXPECT_TRUE(ev.state.empty());
  EXPECT_TRUE(h.Online("G", "N", "D1"));

  pb::Payload death;
  death.add_metrics()->CopyFrom(*bd);
  death.mutable_metrics(0)->set_long_value(5);
  ev = Feed(&h, "spBv1.0/G/NDEATH/N", death);
  ASSERT_EQ(ev.state.size(), 3u);
  for (const auto& s : ev.state) {
    EXPECT_FALSE(s.online);
    EXPECT_EQ(s.event, "NDEATH");
  }
  EXPECT_FALSE(h.Online("G", "N", ""));
  EXPECT_FALSE(h.Online("G", "N", "D2"));

  Feed(&h, "spBv1.0/G/NBIRTH/N", e.Birth(6));
  Feed(&h, "spBv1.0/G/DBIRTH/N/D1", e.DeviceBirth());
  pb::Payload ddeath;
  ddeath.set_seq(e.seq = (e.seq + 1) % 256);
  ev = Feed(&h, "spBv1.0/G/DDEATH/N/D1", ddeath);
  ASSERT_EQ(ev.state.size(), 1u);
  EXPECT_EQ(ev.state[0].device, "D1");
  EXPECT_FALSE(ev.state[0].online);
  EXPECT_FALSE(ev.rebirth);
}

TEST(SparkplugPayload, MalformedBytesAreRefusedAndRebirthRequestDecodes) {
  EXPECT_FALSE(DecodePayload("{\"not\": \"protobuf\"}").ok());
  EXPECT_FALSE(DecodePayload(std::string("\xff\xff\xff", 3)).ok());
  auto p = DecodePayload(EncodeRebirthRequest(77));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->metrics.size(), 1u);
  EXPECT_EQ(p->metrics[0].name, kRebirthMetric);
  EXPECT_EQ(p->metrics[0].datatype, static_cast<uint32_t>(kBoolean));
  EXPECT_EQ(p->metrics[0].value.bits, 1u);
}

}  // namespace
}  // namespace millpond::ingest::sparkplug
